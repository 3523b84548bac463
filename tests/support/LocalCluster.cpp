#include "tests/support/LocalCluster.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/SocketClients.h"

namespace herald::test {

namespace {
constexpr auto kStartTimeout = std::chrono::seconds(10);
}

LocalCluster::LocalCluster(std::vector<std::string> nodeArgs)
    : redis_(/*appendOnly=*/true),
      lbStreamPort_(freePort()),
      lbApiPort_(freePort()),
      dir_(makeTempDir("herald-lb")) {
  std::vector<std::string> args = redis_.heraldArgs("0");  // with --redis-tls-ca when the suite runs over TLS
  args.insert(args.end(), {"--redis-prefix", uniquePrefix()});
  args.insert(args.end(), nodeArgs.begin(), nodeArgs.end());
  std::vector<std::string> env = {"HERALD_LB_STREAM=127.0.0.1:" + std::to_string(lbStreamPort_),
                                  "HERALD_LB_API=127.0.0.1:" + std::to_string(lbApiPort_),
                                  // the test nodes run without API keys (deploy/haproxy.cfg)
                                  "HERALD_LB_NO_FORWARDFOR=1"};
  for (int i = 0; i < kNodes; ++i) {
    nodes_.push_back(std::make_unique<HeraldProcess>(args));
    std::string n = std::to_string(i + 1);
    env.push_back("HERALD_NODE" + n + "_STREAM=127.0.0.1:" + std::to_string(nodes_[i]->streamPort()));
    env.push_back("HERALD_NODE" + n + "_API=127.0.0.1:" + std::to_string(nodes_[i]->apiPort()));
    env.push_back("HERALD_NODE" + n + "_HOST=127.0.0.1");
    env.push_back("HERALD_NODE" + n + "_API_PORT=" + std::to_string(nodes_[i]->apiPort()));
  }
  haproxy_ = ChildProcess({"haproxy", "-f", std::string(HERALD_SOURCE_DIR) + "/deploy/haproxy.cfg", "-db"},
                          env, dir_ + "/haproxy.log");
  if (!waitForPort(lbStreamPort_, kStartTimeout) || !waitForPort(lbApiPort_, kStartTimeout) ||
      !waitHealthy(kStartTimeout)) {
    throw std::runtime_error("haproxy did not start; logs:\n" + logs());
  }
}

LocalCluster::~LocalCluster() {
  haproxy_.kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool LocalCluster::waitHealthy(std::chrono::milliseconds timeout) {
  // haproxy's checks run every 500 ms and need two passes; ask each node's
  // /readyz through the api frontend until every one has answered 200 a few times.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int good = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      good = httpRequest(lbApiPort_, "GET", "/readyz").status == 200 ? good + 1 : 0;
    } catch (const std::exception&) {
      good = 0;
    }
    if (good >= 6) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

std::string LocalCluster::logs() const {
  std::ifstream in(dir_ + "/haproxy.log");
  std::stringstream text;
  text << "haproxy:\n" << in.rdbuf();
  for (const auto& node : nodes_) {
    text << "node:\n" << node->log().substr(0, 4000);
  }
  return text.str();
}

}  // namespace herald::test
