#include "runtime/memory.h"

#include <mutex>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FO_SANITIZED_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FO_SANITIZED_ALLOCATOR 1
#endif
#endif

#if defined(__GLIBC__) && !defined(FO_SANITIZED_ALLOCATOR)
#include <malloc.h>
#endif

namespace runtime {

void ReleaseFreeMemory() {
#if defined(__GLIBC__) && !defined(FO_SANITIZED_ALLOCATOR)
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  malloc_trim(0);
#endif
}

}  // namespace runtime
