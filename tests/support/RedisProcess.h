// RedisProcess: a private redis-server on a free loopback port, for one test.
//
// Tests that restart Redis (with or without persistence) own their server; it
// is stopped and its files removed with the object. It can require a password
// (--requirepass), speak only TLS (a throwaway CA and server certificate made
// with openssl, shared by the test binary), and ask for client certificates.
// With HERALD_TEST_REDIS_TLS=1 in the environment every server of the suite is
// TLS by default, so the same tests run over both transports (see
// tests/CMakeLists.txt); url(), heraldArgs() and applyTo() say how to reach it.
#pragma once

#include <string>
#include <vector>

#include "gateway/broker/redis/RedisReply.h"
#include "gateway/config/Config.h"
#include "tests/support/ChildProcess.h"

namespace herald::test {

// The throwaway PKI of the test binary: made on first use.
struct TestCertificates {
  std::string caFile, serverCert, serverKey, clientCert, clientKey;
};
const TestCertificates& testCertificates();

// The suite runs over TLS (HERALD_TEST_REDIS_TLS=1).
bool suiteUsesTls();

struct RedisOptions {
  bool appendOnly = false;             // keep data across restart() (appendonly yes)
  std::string password;                // --requirepass
  bool tls = suiteUsesTls();           // only a TLS port
  bool tlsAuthClients = false;         // --tls-auth-clients yes
  std::vector<std::string> extraArgs;  // appended to the command line (e.g. --replicaof HOST PORT)
};

class RedisProcess {
 public:
  // appendOnly: keep data across restart() (appendonly yes, appendfsync always); otherwise a
  // restart comes back empty, or with what the last commandText("SAVE") wrote to the RDB file.
  // `extraArgs` are appended to the command line (e.g. {"--replicaof", "127.0.0.1", port}).
  explicit RedisProcess(bool appendOnly = false, std::vector<std::string> extraArgs = {});
  explicit RedisProcess(RedisOptions options);
  ~RedisProcess();

  int port() const { return port_; }
  bool tls() const { return options_.tls; }
  // `redis://127.0.0.1:P` or `rediss://…`, without credentials.
  std::string url() const;
  // The herald flags that reach it: --broker URL (+ db), and --redis-tls-ca with TLS.
  std::vector<std::string> heraldArgs(const std::string& db = "") const;
  // Sets config.broker (and the TLS CA) to reach it.
  void applyTo(Config& config, const std::string& db = "") const;
  // Runs one command as the admin (the default user with the password) and returns the reply.
  ReplyPtr command(const std::vector<std::string>& args) const;
  // Connections Redis has open now, not counting the one that asks.
  int clientCount() const;

  void start();
  void stop();                                    // SIGKILL: an abrupt outage
  void signal(int sig) { process_.signal(sig); }  // e.g. SIGSTOP / SIGCONT: a replica that lags
  // Runs one space-separated command (e.g. "SAVE") like command() and returns its reply as
  // text: "+OK" for a status, "-ERR ..." for an error, the string itself, ":N", or "$-1" for nil.
  std::string commandText(const std::string& spaceSeparated) const;
  void restart() {
    stop();
    start();
  }
  const std::string& logPath() const { return process_.logPath(); }

 private:
  RedisOptions options_;
  int port_;
  std::string dir_;
  ChildProcess process_;
};

}  // namespace herald::test
