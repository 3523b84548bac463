#include "tests/support/RedisProcess.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "gateway/broker/redis/RedisClient.h"

namespace herald::test {

namespace {

void runOrThrow(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
    throw std::runtime_error("test PKI: failed: " + command);
  }
}

TestCertificates makeCertificates() {
  const std::string dir = makeTempDir("herald-pki");
  TestCertificates pki{dir + "/ca.crt", dir + "/server.crt", dir + "/server.key", dir + "/client.crt",
                       dir + "/client.key"};
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  runOrThrow("openssl req -x509 " + ec + " -keyout " + dir + "/ca.key -out " + pki.caFile +
             " -days 2 -subj /CN=herald-test-ca");
  auto issue = [&](const std::string& name, const std::string& cn, const std::string& extensions) {
    runOrThrow("openssl req " + ec + " -keyout " + dir + "/" + name + ".key -out " + dir + "/" + name +
               ".csr -subj /CN=" + cn);
    std::ofstream(dir + "/" + name + ".ext") << extensions;
    runOrThrow("openssl x509 -req -in " + dir + "/" + name + ".csr -CA " + pki.caFile + " -CAkey " + dir +
               "/ca.key -CAcreateserial -days 2 -out " + dir + "/" + name + ".crt -extfile " + dir + "/" +
               name + ".ext");
  };
  issue("server", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  issue("client", "herald-test-client", "extendedKeyUsage=clientAuth\n");
  return pki;
}

}  // namespace

const TestCertificates& testCertificates() {
  static const TestCertificates pki = makeCertificates();
  return pki;
}

bool suiteUsesTls() {
  const char* value = std::getenv("HERALD_TEST_REDIS_TLS");
  return value != nullptr && std::string(value) == "1";
}

namespace {
RedisOptions appendOnlyOptions(bool appendOnly, std::vector<std::string> extraArgs) {
  RedisOptions options;
  options.appendOnly = appendOnly;
  options.extraArgs = std::move(extraArgs);
  return options;
}
}  // namespace

RedisProcess::RedisProcess(bool appendOnly, std::vector<std::string> extraArgs)
    : RedisProcess(appendOnlyOptions(appendOnly, std::move(extraArgs))) {}

RedisProcess::RedisProcess(RedisOptions options)
    : options_(std::move(options)), port_(freePort()), dir_(makeTempDir("herald-redis")) {
  start();
}

RedisProcess::~RedisProcess() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string RedisProcess::url() const {
  return std::string(options_.tls ? "rediss" : "redis") + "://127.0.0.1:" + std::to_string(port_);
}

std::vector<std::string> RedisProcess::heraldArgs(const std::string& db) const {
  std::vector<std::string> args{"--broker", url() + (db.empty() ? "" : "/" + db)};
  if (options_.tls) {
    args.insert(args.end(), {"--redis-tls-ca", testCertificates().caFile});
  }
  return args;
}

void RedisProcess::applyTo(Config& config, const std::string& db) const {
  config.broker = url() + (db.empty() ? "" : "/" + db);
  if (options_.tls) {
    config.redisTlsCa = testCertificates().caFile;
  }
}

void RedisProcess::start() {
  std::vector<std::string> argv{"redis-server",
                                "--bind",
                                "127.0.0.1",
                                "--save",
                                "",
                                "--appendonly",
                                options_.appendOnly ? "yes" : "no",
                                "--appendfsync",
                                "always",
                                "--dir",
                                dir_};
  if (options_.tls) {
    const auto& pki = testCertificates();
    argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                             pki.serverCert, "--tls-key-file", pki.serverKey, "--tls-ca-cert-file",
                             pki.caFile, "--tls-auth-clients", options_.tlsAuthClients ? "yes" : "no",
                             // A replica (extraArgs --replicaof) reaches its master over TLS too.
                             "--tls-replication", "yes"});
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_)});
  }
  if (!options_.password.empty()) {
    argv.insert(argv.end(), {"--requirepass", options_.password});
  }
  argv.insert(argv.end(), options_.extraArgs.begin(), options_.extraArgs.end());
  process_ = ChildProcess(argv, {}, dir_ + "/redis.log");
  if (!waitForPort(port_, std::chrono::seconds(10))) {
    throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }
}

void RedisProcess::stop() {
  process_.kill();
}

ReplyPtr RedisProcess::command(const std::vector<std::string>& args) const {
  RedisEndpoint endpoint;
  endpoint.address = parseRedisUrl(url());
  endpoint.address.password = options_.password;
  if (options_.tls) {
    endpoint.tls.caFile = testCertificates().caFile;
    if (options_.tlsAuthClients) {
      endpoint.tls.certFile = testCertificates().clientCert;
      endpoint.tls.keyFile = testCertificates().clientKey;
    }
  }
  RedisClient client(endpoint, 1);
  client.start();
  if (auto error = client.firstAttempt(std::chrono::seconds(5))) {
    std::rethrow_exception(error);
  }
  std::vector<std::string_view> views(args.begin(), args.end());
  Replies replies = client.run({encodeCommand(views)});
  client.stop();
  return std::move(replies.at(0));
}

int RedisProcess::clientCount() const {
  auto reply = command({"CLIENT", "LIST"});
  const std::string_view text = replyText(*reply);
  int lines = 0;
  for (char c : text) {
    lines += c == '\n' ? 1 : 0;
  }
  return lines - 1;  // not the connection that asked
}

std::string RedisProcess::commandText(const std::string& spaceSeparated) const {
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < spaceSeparated.size()) {
    std::size_t end = spaceSeparated.find(' ', start);
    end = end == std::string::npos ? spaceSeparated.size() : end;
    if (end > start) {
      args.push_back(spaceSeparated.substr(start, end - start));
    }
    start = end + 1;
  }
  auto reply = command(args);
  switch (reply->type) {
    case REDIS_REPLY_STATUS:
      return "+" + std::string(replyText(*reply));
    case REDIS_REPLY_ERROR:
      return "-" + std::string(replyText(*reply));
    case REDIS_REPLY_INTEGER:
      return ":" + std::to_string(reply->integer);
    case REDIS_REPLY_NIL:
      return "$-1";
    default:
      return std::string(replyText(*reply));
  }
}

}  // namespace herald::test
