#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace hookwerk::test {

/// A fresh directory under the system temporary directory, removed with
/// everything in it when the object is destroyed.
class temp_dir {
public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hookwerk-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept { return path_; }

  /// A path inside the directory that does not exist yet.
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace hookwerk::test
