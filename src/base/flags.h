#pragma once

#include <chrono>
#include <climits>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace base {

// A program's command-line flags, declared once and read in one pass (every binary of
// the project reads its flags here). The forms:
//   --name=value, --name value    a valued flag (the next argument is its value, whatever
//                                 it looks like)
//   --name, --name=true|false     a boolean; it never takes the next argument
//   --                            the end of the flags: what follows is positional
// Names are declared with their dashes, so "-n" and "-version" work as declared.
// Durations follow ParseDuration ("1m30s", "500ms"). Every error names the flag:
// `--workers: "x" is not an integer`, `unknown flag --foo`.
class FlagSet {
 public:
  // Each declaration binds a flag to where its value goes; a flag not given leaves its
  // destination as it was (so the destination's value is the default). Declaring a name
  // twice is a programming error (std::invalid_argument).
  void String(const std::string& name, std::string* dst);
  void Bool(const std::string& name, bool* dst);
  void Int(const std::string& name, int* dst, int min = INT_MIN, int max = INT_MAX);
  // A finite number ("0.5", "50", "1e3").
  void Double(const std::string& name, double* dst);
  void Duration(const std::string& name, std::chrono::milliseconds* dst,
                std::chrono::milliseconds min = std::chrono::milliseconds{0});
  // A valued flag with its own reader: `set` returns "" when it took the value, else
  // what is wrong with it ("\"x\" is not json or text"); the error gets the flag's name.
  void Value(const std::string& name, std::function<std::string(const std::string&)> set);
  // `alias` ("-n") is another name of the declared flag `name` ("--namespace").
  void Alias(const std::string& alias, const std::string& name);

  // What to do with a flag nobody declared: refuse it, or keep it in `rest` for a
  // second reader (the manager reads its flags before the operator reads its own).
  enum class Unknown { kRefuse, kKeep };
  struct Result {
    std::string error;              // empty: every argument was read
    std::vector<std::string> rest;  // positional arguments (and kept flags), in order
    bool ok() const { return error.empty(); }
  };
  Result Parse(const std::vector<std::string>& args, Unknown unknown = Unknown::kRefuse) const;
  // argv[1] .. argv[argc - 1] (argv[0] is the program).
  Result Parse(int argc, const char* const* argv, Unknown unknown = Unknown::kRefuse) const;
  // Parse for a program that takes flags only: a positional argument is an error
  // ("unexpected argument x"), as is an unknown flag.
  Result ParseFlagsOnly(int argc, const char* const* argv) const;

 private:
  struct Flag {
    bool boolean = false;
    std::function<std::string(const std::string&)> set;
  };
  void Add(const std::string& name, Flag flag);
  const Flag* Find(const std::string& name) const;

  std::map<std::string, Flag> flags_;
  std::map<std::string, std::string> aliases_;
};

// The command line of a program that takes flags only and has --help (and -h): declares
// those two on `flags` and reads argv. On an error it prints "<program>: <error>" and
// calls `usage` and returns 2; on --help it calls `usage` and returns 0; otherwise nullopt
// (the program runs on).
std::optional<int> ReadProgramFlags(FlagSet& flags, int argc, const char* const* argv,
                                    const std::string& program, const std::function<void()>& usage);

}  // namespace base
