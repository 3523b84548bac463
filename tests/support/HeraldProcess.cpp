#include "tests/support/HeraldProcess.h"

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace herald::test {

namespace {
constexpr auto kStartTimeout = std::chrono::seconds(20);
}

HeraldProcess::HeraldProcess(std::vector<std::string> extraArgs)
    : extraArgs_(std::move(extraArgs)),
      streamPort_(freePort()),
      apiPort_(freePort()),
      dir_(makeTempDir("herald-test")) {
  start();
}

HeraldProcess::~HeraldProcess() {
  process_.kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void HeraldProcess::start() {
  std::vector<std::string> argv = {HERALD_BINARY,
                                   "--stream-listen",
                                   "127.0.0.1:" + std::to_string(streamPort_),
                                   "--api-listen",
                                   "127.0.0.1:" + std::to_string(apiPort_),
                                   "--log-level",
                                   "debug"};
  argv.insert(argv.end(), extraArgs_.begin(), extraArgs_.end());
  process_ = ChildProcess(argv, {}, dir_ + "/herald.log");
  if (!waitForPort(streamPort_, kStartTimeout) || !waitForPort(apiPort_, kStartTimeout)) {
    throw std::runtime_error("herald did not start; log:\n" + log());
  }
}

std::string HeraldProcess::log() const {
  std::ifstream in(dir_ + "/herald.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string sharedRedisUrl() {
  const char* url = std::getenv("HERALD_TEST_REDIS_URL");
  return url ? url : "";
}

std::string uniquePrefix() {
  static std::atomic<int> counter{0};
  // Appended piece by piece: GCC 12 at -O3 flags `"t" + std::string&&` with a false
  // -Wrestrict (the literal-first operator+ inlines a memcpy it cannot bound).
  std::string prefix = "t";
  prefix += std::to_string(::getpid());
  prefix += '-';
  prefix += std::to_string(counter++);
  prefix += ':';
  return prefix;
}

}  // namespace herald::test
