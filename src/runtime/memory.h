#pragma once

namespace runtime {

// Hands memory malloc holds free back to the OS (glibc's malloc_trim: free pages amid the
// heap and in every thread's arena). Calls are serialised. A no-op without glibc and under
// ASan or TSan: their allocator replaces glibc's, whose arenas are then never set up, and
// concurrent first calls of malloc_trim race on that set-up (a SEGV in mtrim under ASan).
void ReleaseFreeMemory();

}  // namespace runtime
