#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace kube::testing {

// A fresh directory under $TMPDIR, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fo-kube-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `text` to path()/name and returns the full path; mode 0755 makes a script.
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    std::string full = path_ + "/" + name;
    std::ofstream(full, std::ios::binary | std::ios::trunc) << text;
    chmod(full.c_str(), mode);
    return full;
  }

 private:
  std::string path_;
};

}  // namespace kube::testing
