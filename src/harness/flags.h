#pragma once

#include <string>

namespace harness {

// Walks a command line argument by argument and reads value flags written either as
// "--flag VALUE" or "--flag=VALUE". A "--flag" with nothing after it is not a value
// flag (the caller reports it as an unknown argument).
class FlagReader {
 public:
  FlagReader(int argc, char** argv) : argc_(argc), argv_(argv) {}

  // Moves to the next argument; false when there is none.
  bool Next() {
    if (++i_ >= argc_) return false;
    arg_ = argv_[i_];
    return true;
  }

  // The argument Next() moved to.
  const std::string& Arg() const { return arg_; }

  // True when the current argument is `flag`: its value goes to *dst (a separate value
  // argument is consumed). False, and *dst untouched, otherwise.
  bool Value(const std::string& flag, std::string* dst) {
    if (arg_ == flag && i_ + 1 < argc_) {
      *dst = argv_[++i_];
      return true;
    }
    if (arg_.rfind(flag + "=", 0) == 0) {
      *dst = arg_.substr(flag.size() + 1);
      return true;
    }
    return false;
  }

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string arg_;
};

}  // namespace harness
