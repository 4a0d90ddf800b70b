#include "benchmarks/bench_process.hpp"

#include "benchmarks/bench_http.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace hookwerk::bench {

namespace fs = std::filesystem;

temp_dir::temp_dir(const std::string& prefix) {
  auto pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("mkdtemp: " + std::string{std::strerror(errno)});
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

server_process::server_process(std::string binary, std::vector<std::string> args,
                               fs::path stderr_file)
    : binary_(std::move(binary)), args_(std::move(args)), stderr_file_(std::move(stderr_file)) {}

server_process::~server_process() {
  if (running())
    stop();
}

void server_process::start(std::chrono::seconds timeout) {
  if (running())
    throw std::logic_error("server already running");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string{std::strerror(errno)});
  int err_fd = ::open(stderr_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (err_fd < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error("open " + stderr_file_.string() + ": " + std::strerror(errno));
  }
  std::vector<char*> argv;
  argv.push_back(binary_.data());
  for (auto& a : args_)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  const int max_fd = static_cast<int>(std::min<long>(::sysconf(_SC_OPEN_MAX), 1 << 20));
  spawned_ns_ = now_ns();
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork: " + std::string{std::strerror(errno)});
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, STDIN_FILENO);
    // Sockets of this process (the receivers' listeners above all) must not live on in the
    // server: a listener it inherited would keep accepting after the receiver closed it.
    if (::close_range(3, ~0U, 0) != 0)
      for (int fd = 3; fd < max_fd; ++fd)
        ::close(fd);
    ::execv(binary_.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(err_fd);
  pid_ = pid;
  stdout_fd_ = pipe_fds[0];

  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  constexpr std::string_view marker = "listening on http://";
  for (;;) {
    if (auto nl = out.find('\n'); nl != std::string::npos) {
      auto line = out.substr(0, nl);
      auto at = line.find(marker);
      auto colon = line.rfind(':');
      if (at == std::string::npos || colon == std::string::npos)
        throw std::runtime_error("unexpected first line from the server: " + line);
      port_ = static_cast<uint16_t>(std::stoul(line.substr(colon + 1)));
      listening_ns_ = now_ns();
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ::close(stdout_fd_);
      stdout_fd_ = -1;
      throw std::runtime_error("the server exited during start-up; its stderr:\n" + stderr_tail());
    }
    if (std::chrono::steady_clock::now() > deadline || g_interrupted.load()) {
      stop(std::chrono::seconds{5});
      throw std::runtime_error(g_interrupted.load() ? "interrupted"
                                                    : "the server did not print its listening line "
                                                      "in time; its stderr:\n" + stderr_tail());
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buf[512];
      auto n = ::read(stdout_fd_, buf, sizeof buf);
      if (n > 0)
        out.append(buf, static_cast<size_t>(n));
      else if (n == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds{20});  // closed: wait for exit
    }
  }
}

int server_process::stop(std::chrono::seconds timeout) {
  if (!running())
    return 0;
  auto t0 = now_ns();
  ::kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool done = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      done = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  if (!done) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  stop_s_ = static_cast<double>(now_ns() - t0) / 1e9;
  pid_ = -1;
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  if (!done)
    return -SIGKILL;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? -WTERMSIG(status) : -1;
}

std::string server_process::stderr_tail(size_t bytes) const {
  std::ifstream in{stderr_file_, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  if (text.size() > bytes)
    text = "…" + text.substr(text.size() - bytes);
  return text;
}

uint64_t rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in{pid == 0 ? std::string{"/proc/self/stat"}
                            : "/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{text.substr(close + 2)};
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // Fields after the command: state(3) ... utime(14) stime(15).
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::stoull(field);
    if (i == 15)
      stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

uint64_t dir_bytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2))
      total += it->file_size(e2);
  }
  return total;
}

machine_info describe_machine() {
  machine_info m;
  m.cores = std::thread::hardware_concurrency();
  std::ifstream cpu{"/proc/cpuinfo"};
  std::string line;
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos)
        m.cpu_model = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  std::ifstream mem{"/proc/meminfo"};
  while (std::getline(mem, line))
    if (line.rfind("MemTotal:", 0) == 0)
      m.mem_total_kib = std::strtoull(line.c_str() + 9, nullptr, 10);
  utsname u{};
  if (::uname(&u) == 0)
    m.kernel = std::string{u.sysname} + " " + u.release + " " + u.machine;
  return m;
}

std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

namespace {
void on_signal(int) { g_interrupted.store(true); }
} // namespace

void install_process_settings() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

std::string random_hex(size_t bytes) {
  std::random_device rd;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = rd() & 0xff;
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

fs::path own_directory() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

} // namespace hookwerk::bench
