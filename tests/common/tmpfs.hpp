#pragma once

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace hookwerk::test {

/// A small tmpfs mounted on a fresh temporary directory, to run the database
/// on a disk that can be filled. Unmounted and removed on destruction.
/// mounted() is false (and why() says why) when mounting is not permitted,
/// e.g. without root; tests then skip.
class tmpfs_mount {
public:
  explicit tmpfs_mount(unsigned megabytes) {
    std::string pattern = (std::filesystem::temp_directory_path() / "hookwerk-tmpfs-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
    auto options = "size=" + std::to_string(megabytes) + "m";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0)
      mounted_ = true;
    else
      why_ = std::string{"mount -t tmpfs failed: "} + std::strerror(errno)
             + " (needs root or CAP_SYS_ADMIN)";
  }

  ~tmpfs_mount() {
    if (mounted_)
      ::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  bool mounted() const noexcept { return mounted_; }
  const std::string& why() const noexcept { return why_; }
  const std::string& path() const noexcept { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

  /// Creates `name` and writes to it until the filesystem is full; returns
  /// the bytes written.
  std::uintmax_t fill(const std::string& name) const {
    std::uintmax_t written = 0;
    auto file = sub(name);
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{4096}, std::size_t{512}}) {
      std::ofstream out(file, std::ios::binary | std::ios::app);
      std::string data(chunk, 'f');
      while (out.write(data.data(), static_cast<std::streamsize>(data.size())) && out.flush())
        written += chunk;
    }
    return written;
  }

  /// Bytes still free for an unprivileged writer.
  std::uintmax_t available() const { return std::filesystem::space(path_).available; }

private:
  std::string path_;
  std::string why_;
  bool mounted_ = false;
};

} // namespace hookwerk::test
