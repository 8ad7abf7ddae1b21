#include "support/test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tensor/kernel_set.h"
#include "util/error.h"

namespace s1test {

std::filesystem::path source_dir() { return S1_SOURCE_DIR; }

std::filesystem::path shared_dir() { return source_dir().parent_path() / "shared"; }

namespace {

// The directories temp_dir made, removed when the test binary exits (left
// behind, they had piled up to 12,000 directories and 50 GB in /tmp and filled
// the disk). Only the process that made them removes them: a forked child
// that exits normally must not take its parent's files.
class TempDirs {
 public:
  void add(const std::filesystem::path& dir) {
    std::lock_guard lock(mutex_);
    dirs_.push_back(dir);
  }
  ~TempDirs() {
    if (getpid() != owner_) return;
    std::error_code ignored;
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

 private:
  std::mutex mutex_;
  std::vector<std::filesystem::path> dirs_;
  pid_t owner_ = getpid();
};

}  // namespace

std::filesystem::path temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  static TempDirs made;
  auto dir = std::filesystem::temp_directory_path() /
             ("s1test-" + std::to_string(getpid()) + "-" + tag + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  made.add(dir);
  return dir;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

CliResult run_s1(const std::vector<std::string>& args, const std::string& stdin_text) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    std::vector<char*> argv;
    std::string binary = S1_BINARY;
    // A cross build's tests run under qemu-user (scripts/cross-test), which
    // cannot exec a foreign binary itself: S1_TEST_EMULATOR names the emulator.
    const char* emulator = std::getenv("S1_TEST_EMULATOR");
    std::string emulator_path = emulator && *emulator ? emulator : "";
    if (!emulator_path.empty()) argv.push_back(emulator_path.data());
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Feed stdin and drain stdout/stderr together so neither side can block.
  CliResult result;
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (stdin_text.empty()) { close(in_fd); in_fd = -1; }
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out_pipe[0], POLLIN, 0};
    if (err_open) fds[n++] = {err_pipe[0], POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, -1) < 0) break;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, stdin_text.data() + written, stdin_text.size() - written);
        if (w > 0) written += size_t(w);
        if (w <= 0 || written == stdin_text.size()) { close(in_fd); in_fd = -1; }
        continue;
      }
      char buf[65536];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      bool is_out = fds[i].fd == out_pipe[0];
      if (r <= 0) {
        (is_out ? out_open : err_open) = false;
      } else {
        (is_out ? result.out : result.err).append(buf, size_t(r));
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::vector<float> gaussian_values(int n, float stddev, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = dist(gen);
  return values;
}

}  // namespace s1test

namespace {

// CTest runs the kernel, model and conformance suites once per instruction set
// with S1_CPU forced (tests/CMakeLists.txt). A set this CPU cannot run, or the
// best set again (S1_TEST_SKIP_DEFAULT_SET: the plain run already covers it),
// skips the whole binary instead of failing every test.
class ForcedKernelSet : public testing::Environment {
 public:
  void SetUp() override {
    const char* forced = std::getenv("S1_CPU");
    if (!forced || !*forced) return;
    std::string reason;
    try {
      s1::kernels();
    } catch (const s1::Error& e) {
      reason = e.what();
    }
    const char* skip_default = std::getenv("S1_TEST_SKIP_DEFAULT_SET");
    if (reason.empty() && skip_default && *skip_default && s1::usable_kernel_sets().front()->name == forced)
      reason = std::string(forced) + " is the set the unforced run uses";
    if (reason.empty()) return;
    std::printf("kernel set skipped: %s\n", reason.c_str());
    GTEST_SKIP() << reason;
  }
};

const auto* const forced_kernel_set = testing::AddGlobalTestEnvironment(new ForcedKernelSet);

}  // namespace
