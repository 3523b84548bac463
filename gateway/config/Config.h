// Config: every setting of a herald process, parsed once at start-up.
//
// Each field is a flag (`herald --help` is the reference) with a `HERALD_*`
// environment fallback; a flag given on the command line wins. Durations accept
// `15`, `1.5`, `500ms`, `3s`, `5m`, `24h`; sizes accept `1048576`, `256KiB`, `1MiB`.
// A repeatable flag's variable is a comma-separated list.
#pragma once

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

using std::chrono::milliseconds;

struct Config {
  // Listeners
  std::string streamListen = "0.0.0.0:8080";
  std::string apiListen = "0.0.0.0:8081";
  unsigned threads = 0;  // stream threads; 0 = one per core (resolved by parseConfig)

  // Broker
  std::string broker = "memory";  // or redis[s]://[user[:password]@]host[:port][/db]
  std::string redisPrefix = "herald:";
  // Redis credentials and TLS (docs/operations.md "Redis"). The password of the URL wins,
  // then the file's (re-read at start only), then HERALD_REDIS_PASSWORD.
  std::string redisPassword;  // HERALD_REDIS_PASSWORD only: never a flag, never printed
  std::string redisPasswordFile;
  std::string redisTlsCa;  // PEM; empty: the system trust store
  std::string redisTlsCert;
  std::string redisTlsKey;
  std::string redisTlsServerName;  // empty: the URL's host
  std::size_t historySize = 1000;
  milliseconds historyTtl{24 * 3600 * 1000};
  milliseconds idempotencyTtl{5 * 60 * 1000};
  milliseconds publishTimeout{5000};

  // Streams
  milliseconds heartbeat{15000};
  milliseconds retry{3000};
  std::size_t maxBuffer = 1024 * 1024;
  milliseconds requestTimeout{10000};
  milliseconds writeTimeout{30000};  // one write to a stream; past it the stream is closed
  milliseconds drainTime{10000};

  // Load shedding: over these, new streams get `retry:` and a close (0 = off)
  std::size_t maxConnections = 0;  // open streams per node
  milliseconds shedLag{1000};      // a stream thread's event loop running this late
  std::size_t shedRss = 0;         // resident memory of the process, bytes

  // Api
  std::size_t maxBodyBytes = 65536;
  unsigned apiThreads = 1;      // event-loop threads of the api listener
  unsigned apiWorkers = 16;     // threads that run publish/history calls on a Redis broker
  std::size_t apiQueue = 1024;  // broker calls waiting or running; more is 503 overloaded

  // Security (docs/security.md)
  std::vector<std::string> apiKeys;
  std::string apiKeyFile;  // re-read on SIGHUP
  std::string jwtSecret;
  std::string jwtSecretFile;
  std::string jwtPublicKey;  // a PEM file
  milliseconds jwtLeeway{5000};
  std::string jwtAudience;
  std::string jwtIssuer;
  std::vector<std::string> corsOrigins;

  // Limits of every request on both listeners (and --max-body for the api's bodies)
  std::size_t maxHeaderBytes = 8 * 1024;  // request line and headers together
  std::size_t maxHeaders = 64;
  std::size_t maxRequestLine = 4 * 1024;  // the request target
  std::size_t maxChannelsPerStream = 32;
  std::size_t maxConnectionsPerIp = 0;  // 0 = no limit

  // Logs
  std::string logLevel = "info";
  std::string logFormat = "text";
};

// A bad flag or variable value; the message names the setting.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What parseConfig decided: run with `config`, or exit with `exitCode` (after --help,
// --version or an error, which parseConfig has already printed).
struct ConfigParse {
  Config config;
  bool exit = false;
  int exitCode = 0;
};

ConfigParse parseConfig(int argc, const char* const* argv);

// `15`, `1.5`, `500ms`, `3s`, `5m`, `24h` -> milliseconds; throws ConfigError.
milliseconds parseDuration(std::string_view text);
// `1048576`, `256KiB`, `1MiB` -> bytes; throws ConfigError.
std::size_t parseSize(std::string_view text);
// The shortest exact text of a duration or size in the forms above (`24h`, `1MiB`), for --help.
std::string formatDuration(milliseconds value);
std::string formatSize(std::size_t bytes);

}  // namespace herald
