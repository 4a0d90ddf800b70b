#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hookwerk::bench {

/// A fresh directory from mkdtemp, removed recursively on destruction.
class temp_dir {
public:
  explicit temp_dir(const std::string& prefix = "hookwerk-bench-");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// A `hookwerk serve` child process. start() forks it (its own process group, killed with us
/// if we die), sends its stderr to a file and waits for the `listening on` line. Destruction
/// stops it (SIGTERM, then SIGKILL). Not thread-safe.
class server_process {
public:
  server_process(std::string binary, std::vector<std::string> args,
                 std::filesystem::path stderr_file);
  ~server_process();
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// Throws std::runtime_error (with the tail of its stderr) when it exits or stays silent.
  void start(std::chrono::seconds timeout = std::chrono::seconds{120});
  /// SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit status, or -signal.
  int stop(std::chrono::seconds timeout = std::chrono::seconds{30});
  bool running() const { return pid_ > 0; }

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  int64_t spawned_ns() const { return spawned_ns_; }
  int64_t listening_ns() const { return listening_ns_; }
  double last_stop_seconds() const { return stop_s_; }
  std::string stderr_tail(size_t bytes = 3000) const;
  const std::vector<std::string>& args() const { return args_; }

private:
  std::string binary_;
  std::vector<std::string> args_;
  std::filesystem::path stderr_file_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  uint16_t port_ = 0;
  int64_t spawned_ns_ = 0;
  int64_t listening_ns_ = 0;
  double stop_s_ = 0;
};

/// VmRSS of a process in KiB (0 when unknown).
uint64_t rss_kib(pid_t pid);
/// User + system CPU seconds a process has used (0 when unknown); pid 0 = this process.
double cpu_seconds(pid_t pid);
/// Bytes of all regular files below `dir`.
uint64_t dir_bytes(const std::filesystem::path& dir);

struct machine_info {
  unsigned cores = 0;
  std::string cpu_model;
  uint64_t mem_total_kib = 0;
  std::string kernel;
};
machine_info describe_machine();

/// The first three fields of /proc/loadavg ("1.20 0.80 0.50"): how busy the machine was.
std::string load_average();

/// SIGINT/SIGTERM set g_interrupted; SIGPIPE is ignored; the open-files limit is raised.
void install_process_settings();

/// Random lowercase hex of 2*bytes characters.
std::string random_hex(size_t bytes);

/// The directory of this executable.
std::filesystem::path own_directory();

} // namespace hookwerk::bench
