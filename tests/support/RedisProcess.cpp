#include "tests/support/RedisProcess.h"

#include <filesystem>
#include <stdexcept>

#include "tests/support/SocketClients.h"

namespace herald::test {

RedisProcess::RedisProcess(bool appendOnly, std::vector<std::string> extraArgs)
    : appendOnly_(appendOnly),
      extraArgs_(std::move(extraArgs)),
      port_(freePort()),
      dir_(makeTempDir("herald-redis")) {
  start();
}

RedisProcess::~RedisProcess() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void RedisProcess::start() {
  std::vector<std::string> argv = {"redis-server",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   appendOnly_ ? "yes" : "no",
                                   "--appendfsync",
                                   "always",
                                   "--dir",
                                   dir_};
  argv.insert(argv.end(), extraArgs_.begin(), extraArgs_.end());
  process_ = ChildProcess(argv, {}, dir_ + "/redis.log");
  if (!waitForPort(port_, std::chrono::seconds(10))) {
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
}

std::string RedisProcess::command(const std::string& inlineCommand) const {
  // QUIT makes Redis close after answering, which ends the exchange.
  return rawExchange(port_, inlineCommand + "\r\nQUIT\r\n", std::chrono::seconds(30)).received;
}

void RedisProcess::stop() {
  process_.kill();
}

}  // namespace herald::test
