#include "base/flags.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "base/duration.h"

namespace base {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

void FlagSet::Add(const std::string& name, Flag flag) {
  if (name.size() < 2 || name[0] != '-' || Find(name)) {
    throw std::invalid_argument("FlagSet: bad or repeated flag name " + Quote(name));
  }
  flags_.emplace(name, std::move(flag));
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  auto alias = aliases_.find(name);
  auto it = flags_.find(alias == aliases_.end() ? name : alias->second);
  return it == flags_.end() ? nullptr : &it->second;
}

void FlagSet::String(const std::string& name, std::string* dst) {
  Value(name, [dst](const std::string& v) {
    *dst = v;
    return std::string();
  });
}

void FlagSet::Bool(const std::string& name, bool* dst) {
  Add(name, Flag{true, [dst](const std::string& v) {
                   if (v != "true" && v != "false") return Quote(v) + " is not true or false";
                   *dst = v == "true";
                   return std::string();
                 }});
}

void FlagSet::Int(const std::string& name, int* dst, int min, int max) {
  Value(name, [dst, min, max](const std::string& v) {
    int n = 0;
    const char* end = v.data() + v.size();
    auto [ptr, ec] = std::from_chars(v.data(), end, n);
    if (v.empty() || ec == std::errc::invalid_argument || ptr != end) {
      return Quote(v) + " is not an integer";
    }
    if (ec == std::errc::result_out_of_range || n < min || n > max) {
      if (min == INT_MIN && max == INT_MAX) return Quote(v) + " is out of range";
      if (max == INT_MAX) return Quote(v) + " is less than " + std::to_string(min);
      return Quote(v) + " is not in " + std::to_string(min) + ".." + std::to_string(max);
    }
    *dst = n;
    return std::string();
  });
}

void FlagSet::Double(const std::string& name, double* dst) {
  Value(name, [dst](const std::string& v) {
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(d)) {
      return Quote(v) + " is not a number";
    }
    *dst = d;
    return std::string();
  });
}

void FlagSet::Duration(const std::string& name, std::chrono::milliseconds* dst,
                       std::chrono::milliseconds min) {
  Value(name, [dst, min](const std::string& v) {
    auto d = ParseDuration(v);
    if (!d) {
      return Quote(v) +
             " is not a duration: a number with a unit (ms, s, m, h), e.g. 500ms, 15s, 1m30s";
    }
    if (*d < min) return Quote(v) + " is less than " + FormatDuration(min);
    *dst = *d;
    return std::string();
  });
}

void FlagSet::Value(const std::string& name, std::function<std::string(const std::string&)> set) {
  Add(name, Flag{false, std::move(set)});
}

void FlagSet::Alias(const std::string& alias, const std::string& name) {
  if (!flags_.count(name) || alias.size() < 2 || alias[0] != '-' || Find(alias)) {
    throw std::invalid_argument("FlagSet: bad alias " + Quote(alias) + " for " + Quote(name));
  }
  aliases_.emplace(alias, name);
}

FlagSet::Result FlagSet::Parse(const std::vector<std::string>& args, Unknown unknown) const {
  Result out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.rest.insert(out.rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    // "-" alone is an operand by convention (standard input), not a flag.
    if (arg.size() < 2 || arg[0] != '-') {
      out.rest.push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const Flag* flag = Find(name);
    if (!flag) {
      if (unknown == Unknown::kKeep) {
        out.rest.push_back(arg);
        continue;
      }
      out.error = "unknown flag " + name;
      return out;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (flag->boolean) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      out.error = name + ": missing value";
      return out;
    }
    if (std::string problem = flag->set(value); !problem.empty()) {
      out.error = name + ": " + problem;
      return out;
    }
  }
  return out;
}

FlagSet::Result FlagSet::Parse(int argc, const char* const* argv, Unknown unknown) const {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args, unknown);
}

FlagSet::Result FlagSet::ParseFlagsOnly(int argc, const char* const* argv) const {
  Result out = Parse(argc, argv);
  if (out.ok() && !out.rest.empty()) out.error = "unexpected argument " + out.rest[0];
  return out;
}

std::optional<int> ReadProgramFlags(FlagSet& flags, int argc, const char* const* argv,
                                    const std::string& program, const std::function<void()>& usage) {
  bool help = false;
  flags.Bool("--help", &help);
  flags.Alias("-h", "--help");
  auto parsed = flags.ParseFlagsOnly(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), parsed.error.c_str());
    usage();
    return 2;
  }
  if (help) {
    usage();
    return 0;
  }
  return std::nullopt;
}

}  // namespace base
