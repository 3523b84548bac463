#include "gateway/config/Config.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "gateway/broker/Broker.h"
#include "gateway/broker/RedisUrl.h"
#include "gateway/core/ShardMask.h"

namespace herald {

namespace {

constexpr long kMaxPort = 65535;
constexpr int kExitUsageError = 2;
constexpr unsigned kMaxApiThreads = 64;
constexpr unsigned kMaxApiWorkers = 1024;

std::string inQuotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// A `host:port` listen address; the host may be a bracketed IPv6 literal.
void validateListen(const std::string& setting, const std::string& value) {
  auto colon = value.rfind(':');
  std::string_view host =
      colon == std::string::npos ? std::string_view{} : std::string_view(value).substr(0, colon);
  std::string_view port =
      colon == std::string::npos ? std::string_view{} : std::string_view(value).substr(colon + 1);
  bool portOk = !port.empty() && port.size() <= 5 &&
                port.find_first_not_of("0123456789") == std::string_view::npos &&
                std::stol(std::string(port)) <= kMaxPort;
  if (host.empty() || !portOk) {
    throw ConfigError(setting + ": expected host:port (e.g. 0.0.0.0:8080), got " + inQuotes(value));
  }
}

void requireOneOf(const std::string& setting, const std::string& value,
                  std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* candidate : allowed) {
    if (value == candidate) {
      return;
    }
    list += list.empty() ? candidate : std::string("|") + candidate;
  }
  throw ConfigError(setting + ": expected one of " + list + ", got " + inQuotes(value));
}

milliseconds durationSetting(const std::string& setting, const std::string& text, bool allowZero) {
  milliseconds value;
  try {
    value = parseDuration(text);
  } catch (const ConfigError& e) {
    throw ConfigError(setting + ": " + e.what());
  }
  if (!allowZero && value.count() == 0) {
    throw ConfigError(setting + ": must be greater than zero, got " + inQuotes(text));
  }
  return value;
}

std::size_t sizeSetting(const std::string& setting, const std::string& text, bool allowZero = false) {
  std::size_t value;
  try {
    value = parseSize(text);
  } catch (const ConfigError& e) {
    throw ConfigError(setting + ": " + e.what());
  }
  if (!allowZero && value == 0) {
    throw ConfigError(setting + ": must be at least 1 byte, got " + inQuotes(text));
  }
  return value;
}

// A comma-separated list from the environment, blanks around items dropped, empty items skipped.
std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto end = comma == std::string_view::npos ? text.size() : comma;
    auto item = text.substr(start, end - start);
    auto first = item.find_first_not_of(" \t");
    if (first != std::string_view::npos) {
      auto last = item.find_last_not_of(" \t");
      items.emplace_back(item.substr(first, last - first + 1));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return items;
}

// The text form of each setting as given; converted and validated after CLI11 has parsed.
struct RawSettings {
  std::string streamListen, apiListen, broker, redisPrefix;
  std::string redisPasswordFile, redisTlsCa, redisTlsCert, redisTlsKey, redisTlsServerName;
  std::size_t historySize = 0;
  std::string historyTtl, heartbeat, retry, maxBuffer, requestTimeout, writeTimeout, drainTime,
      idempotencyTtl, publishTimeout, maxBody, shedLag, shedRss, bindRetry;
  std::size_t maxConnections = 0;
  int threads = 0;
  unsigned apiThreads = 0, apiWorkers = 0;
  std::size_t apiQueue = 0;
  std::vector<std::string> apiKeys, corsOrigins;
  std::string apiKeyFile, jwtSecret, jwtSecretFile, jwtPublicKey, jwtLeeway, jwtAudience, jwtIssuer, logLevel,
      logFormat;
  std::string maxHeaderBytes, maxRequestLine;
  std::size_t maxHeaders = 0, maxChannelsPerStream = 0, maxConnectionsPerIp = 0;
};

Config convert(const RawSettings& raw) {
  Config config;
  validateListen("--stream-listen", raw.streamListen);
  validateListen("--api-listen", raw.apiListen);
  config.streamListen = raw.streamListen;
  config.apiListen = raw.apiListen;
  config.bindRetry = durationSetting("--bind-retry", raw.bindRetry, true);

  if (raw.broker != "memory") {
    try {
      const RedisAddress address = parseRedisUrl(raw.broker);
      if (address.cluster) {
        // The URL, CRC16 slot routing and redirects exist (RedisUrl, ClusterSlots); the broker
        // that routes publishes and sharded pub/sub per master does not yet (issue 12).
        throw ConfigError("--broker: redis+cluster:// is not supported by this build yet");
      }
      if (!address.tls && !(raw.redisTlsCa.empty() && raw.redisTlsCert.empty() && raw.redisTlsKey.empty() &&
                            raw.redisTlsServerName.empty())) {
        throw ConfigError("--redis-tls-*: set, but --broker is not a rediss:// URL");
      }
    } catch (const std::invalid_argument& error) {
      throw ConfigError(std::string("--broker: expected 'memory' or a Redis URL; ") + error.what());
    }
  }
  if (raw.redisTlsCert.empty() != raw.redisTlsKey.empty()) {
    throw ConfigError("--redis-tls-cert and --redis-tls-key: give both or neither");
  }
  config.broker = raw.broker;
  config.redisPrefix = raw.redisPrefix;
  config.redisPasswordFile = raw.redisPasswordFile;
  config.redisTlsCa = raw.redisTlsCa;
  config.redisTlsCert = raw.redisTlsCert;
  config.redisTlsKey = raw.redisTlsKey;
  config.redisTlsServerName = raw.redisTlsServerName;
  if (raw.historySize < 1) {
    throw ConfigError("--history-size: must be at least 1");
  }
  config.historySize = raw.historySize;

  config.historyTtl = durationSetting("--history-ttl", raw.historyTtl, false);
  config.idempotencyTtl = durationSetting("--idempotency-ttl", raw.idempotencyTtl, false);
  config.publishTimeout = durationSetting("--publish-timeout", raw.publishTimeout, false);
  config.heartbeat = durationSetting("--heartbeat", raw.heartbeat, false);
  config.retry = durationSetting("--retry", raw.retry, true);
  config.requestTimeout = durationSetting("--request-timeout", raw.requestTimeout, false);
  config.writeTimeout = durationSetting("--write-timeout", raw.writeTimeout, false);
  config.drainTime = durationSetting("--drain-time", raw.drainTime, true);
  config.maxBuffer = sizeSetting("--max-buffer", raw.maxBuffer);
  config.maxBodyBytes = sizeSetting("--max-body", raw.maxBody);
  if (raw.apiThreads < 1 || raw.apiThreads > kMaxApiThreads || raw.apiWorkers < 1 ||
      raw.apiWorkers > kMaxApiWorkers || raw.apiQueue < raw.apiWorkers) {
    throw ConfigError("--api-threads must be 1-" + std::to_string(kMaxApiThreads) + ", --api-workers 1-" +
                      std::to_string(kMaxApiWorkers) + ", --api-queue at least --api-workers");
  }
  config.apiThreads = raw.apiThreads;
  config.apiWorkers = raw.apiWorkers;
  config.apiQueue = raw.apiQueue;
  config.maxConnections = raw.maxConnections;
  config.shedLag = durationSetting("--shed-lag", raw.shedLag, true);
  config.shedRss = sizeSetting("--shed-rss", raw.shedRss, true);

  if (raw.threads < 0 || raw.threads > static_cast<int>(kMaxShards)) {
    throw ConfigError("--threads: expected 0 (one per core) to " + std::to_string(kMaxShards) + ", got " +
                      std::to_string(raw.threads));
  }
  // Each stream thread is a broker shard, so there can be no more than kMaxShards of them.
  unsigned threads =
      raw.threads > 0 ? static_cast<unsigned>(raw.threads) : std::thread::hardware_concurrency();
  config.threads = std::clamp(threads, 1u, kMaxShards);

  config.apiKeys = raw.apiKeys;
  config.apiKeyFile = raw.apiKeyFile;
  config.jwtSecret = raw.jwtSecret;
  config.jwtSecretFile = raw.jwtSecretFile;
  config.jwtPublicKey = raw.jwtPublicKey;
  config.jwtLeeway = durationSetting("--jwt-leeway", raw.jwtLeeway, true);
  config.jwtAudience = raw.jwtAudience;
  config.jwtIssuer = raw.jwtIssuer;
  config.corsOrigins = raw.corsOrigins;

  config.maxHeaderBytes = sizeSetting("--max-header-bytes", raw.maxHeaderBytes);
  config.maxRequestLine = sizeSetting("--max-request-line", raw.maxRequestLine);
  if (raw.maxHeaders < 1 || raw.maxChannelsPerStream < 1) {
    throw ConfigError("--max-headers and --max-channels-per-stream must be at least 1");
  }
  config.maxHeaders = raw.maxHeaders;
  config.maxChannelsPerStream = raw.maxChannelsPerStream;
  config.maxConnectionsPerIp = raw.maxConnectionsPerIp;

  requireOneOf("--log-level", raw.logLevel, {"trace", "debug", "info", "warn", "error"});
  requireOneOf("--log-format", raw.logFormat, {"text", "json"});
  config.logLevel = raw.logLevel;
  config.logFormat = raw.logFormat;
  return config;
}

}  // namespace

ConfigParse parseConfig(int argc, const char* const* argv) {
  const Config defaults;
  RawSettings raw{
      .streamListen = defaults.streamListen,
      .apiListen = defaults.apiListen,
      .broker = defaults.broker,
      .redisPrefix = defaults.redisPrefix,
      .redisPasswordFile = {},
      .redisTlsCa = {},
      .redisTlsCert = {},
      .redisTlsKey = {},
      .redisTlsServerName = {},
      .historySize = defaults.historySize,
      .historyTtl = formatDuration(defaults.historyTtl),
      .heartbeat = formatDuration(defaults.heartbeat),
      .retry = formatDuration(defaults.retry),
      .maxBuffer = formatSize(defaults.maxBuffer),
      .requestTimeout = formatDuration(defaults.requestTimeout),
      .writeTimeout = formatDuration(defaults.writeTimeout),
      .drainTime = formatDuration(defaults.drainTime),
      .idempotencyTtl = formatDuration(defaults.idempotencyTtl),
      .publishTimeout = formatDuration(defaults.publishTimeout),
      .maxBody = std::to_string(defaults.maxBodyBytes),
      .shedLag = formatDuration(defaults.shedLag),
      .shedRss = std::to_string(defaults.shedRss),
      .bindRetry = formatDuration(defaults.bindRetry),
      .maxConnections = defaults.maxConnections,
      .threads = static_cast<int>(defaults.threads),
      .apiThreads = defaults.apiThreads,
      .apiWorkers = defaults.apiWorkers,
      .apiQueue = defaults.apiQueue,
      .apiKeys = {},
      .corsOrigins = {},
      .apiKeyFile = defaults.apiKeyFile,
      .jwtSecret = defaults.jwtSecret,
      .jwtSecretFile = defaults.jwtSecretFile,
      .jwtPublicKey = defaults.jwtPublicKey,
      .jwtLeeway = formatDuration(defaults.jwtLeeway),
      .jwtAudience = defaults.jwtAudience,
      .jwtIssuer = defaults.jwtIssuer,
      .logLevel = defaults.logLevel,
      .logFormat = defaults.logFormat,
      .maxHeaderBytes = formatSize(defaults.maxHeaderBytes),
      .maxRequestLine = formatSize(defaults.maxRequestLine),
      .maxHeaders = defaults.maxHeaders,
      .maxChannelsPerStream = defaults.maxChannelsPerStream,
      .maxConnectionsPerIp = defaults.maxConnectionsPerIp,
  };

  CLI::App app{"herald: a push-notification gateway (REST in, Server-Sent Events out)", "herald"};
  app.set_version_flag("--version", std::string("herald ") + HERALD_VERSION);
  app.get_formatter()->column_width(36);

  const std::string duration = "DURATION";  // 15, 1.5, 500ms, 3s, 5m, 24h
  const std::string size = "SIZE";          // bytes, 256KiB, 1MiB
  auto scalar = [&](const char* flag, auto& target, const char* env, const std::string& help,
                    const std::string& type) {
    return app.add_option(flag, target, help)->envname(env)->type_name(type)->capture_default_str();
  };
  scalar("--stream-listen", raw.streamListen, "HERALD_STREAM_LISTEN", "Public SSE listener", "HOST:PORT");
  scalar("--api-listen", raw.apiListen, "HERALD_API_LISTEN", "Internal REST listener (publish, health)",
         "HOST:PORT");
  scalar("--bind-retry", raw.bindRetry, "HERALD_BIND_RETRY",
         "How long a listener retries an address still in use at start; 0 = no retry", duration);
  scalar("--broker", raw.broker, "HERALD_BROKER",
         "'memory' (single node), redis://[user[:password]@]host[:port][/db] or rediss://... (TLS)", "URL");
  scalar("--redis-password-file", raw.redisPasswordFile, "HERALD_REDIS_PASSWORD_FILE",
         "File holding the Redis password (else env HERALD_REDIS_PASSWORD; a password in the URL wins)",
         "PATH");
  scalar("--redis-tls-ca", raw.redisTlsCa, "HERALD_REDIS_TLS_CA",
         "PEM trust anchors for rediss:// (unset: the system trust store)", "PATH");
  scalar("--redis-tls-cert", raw.redisTlsCert, "HERALD_REDIS_TLS_CERT",
         "Client certificate (PEM) for mutual TLS to Redis, with --redis-tls-key", "PATH");
  scalar("--redis-tls-key", raw.redisTlsKey, "HERALD_REDIS_TLS_KEY", "Private key (PEM) of --redis-tls-cert",
         "PATH");
  scalar("--redis-tls-server-name", raw.redisTlsServerName, "HERALD_REDIS_TLS_SERVER_NAME",
         "SNI and certificate name verified for rediss:// (unset: the URL's host)", "NAME");
  scalar("--redis-prefix", raw.redisPrefix, "HERALD_REDIS_PREFIX",
         "Prefix of Redis keys and pub/sub channels", "TEXT");
  scalar("--history-size", raw.historySize, "HERALD_HISTORY_SIZE",
         "Notifications retained per channel (at least)", "COUNT");
  scalar("--history-ttl", raw.historyTtl, "HERALD_HISTORY_TTL",
         "How long history is retained (seconds or ms/s/m/h)", duration);
  scalar("--heartbeat", raw.heartbeat, "HERALD_HEARTBEAT",
         "SSE comment heartbeat interval (seconds or ms/s/m/h)", duration);
  scalar("--retry", raw.retry, "HERALD_RETRY", "SSE retry: sent to clients (seconds or ms/s/m/h)", duration);
  scalar("--max-buffer", raw.maxBuffer, "HERALD_MAX_BUFFER",
         "Bytes queued per stream before it is dropped (bytes, KiB, MiB)", size);
  scalar("--request-timeout", raw.requestTimeout, "HERALD_REQUEST_TIMEOUT",
         "Time to read a request's headers and body (seconds or ms/s/m/h)", duration);
  scalar("--write-timeout", raw.writeTimeout, "HERALD_WRITE_TIMEOUT",
         "A stream whose one write has not finished within this is closed (it stopped reading; seconds "
         "or ms/s/m/h)",
         duration);
  scalar("--drain-time", raw.drainTime, "HERALD_DRAIN_TIME",
         "Time over which streams are ended on SIGTERM (seconds or ms/s/m/h)", duration);
  scalar("--max-connections", raw.maxConnections, "HERALD_MAX_CONNECTIONS",
         "Open streams per node; over it new ones are shed (retry: + close); 0 = no limit", "COUNT");
  scalar("--shed-lag", raw.shedLag, "HERALD_SHED_LAG",
         "Shed new streams while a stream thread lags this much (CPU pressure); 0 = off", duration);
  scalar("--shed-rss", raw.shedRss, "HERALD_SHED_RSS",
         "Shed new streams while resident memory is above this (bytes, KiB, MiB); 0 = off", size);
  scalar("--idempotency-ttl", raw.idempotencyTtl, "HERALD_IDEMPOTENCY_TTL",
         "How long an Idempotency-Key is remembered (seconds or ms/s/m/h)", duration);
  scalar("--publish-timeout", raw.publishTimeout, "HERALD_PUBLISH_TIMEOUT",
         "Longest wait for the broker on publish (seconds or ms/s/m/h)", duration);
  scalar("--max-body", raw.maxBody, "HERALD_MAX_BODY", "Largest api request body (bytes, KiB, MiB)", size);
  scalar("--api-threads", raw.apiThreads, "HERALD_API_THREADS", "Event-loop threads of the api listener",
         "COUNT");
  scalar("--api-workers", raw.apiWorkers, "HERALD_API_WORKERS",
         "Threads running publish/history calls on a Redis broker (memory: on the loop)", "COUNT");
  scalar("--api-queue", raw.apiQueue, "HERALD_API_QUEUE",
         "Broker calls queued or running at once; more is 503 overloaded", "COUNT");
  scalar("--threads", raw.threads, "HERALD_THREADS", "Stream threads, 0 = one per core (max 64)", "COUNT");
  // Repeatable flags: their variables are comma-separated lists, read below, so CLI11 does not
  // split values given as flags.
  auto* apiKeyOption = app.add_option("--api-key", raw.apiKeys,
                                      "Bearer key for the api listener; repeatable (env HERALD_API_KEY, "
                                      "comma-separated)")
                           ->allow_extra_args(false)
                           ->type_name("KEY");
  scalar("--api-key-file", raw.apiKeyFile, "HERALD_API_KEY_FILE",
         "File of api keys, one per line, # comments; re-read on SIGHUP", "PATH");
  scalar("--jwt-secret", raw.jwtSecret, "HERALD_JWT_SECRET",
         "HS256 secret for subscriber tokens (unset: subscribing is open)", "SECRET");
  scalar("--jwt-secret-file", raw.jwtSecretFile, "HERALD_JWT_SECRET_FILE",
         "File holding the HS256 secret (instead of --jwt-secret)", "PATH");
  scalar("--jwt-public-key", raw.jwtPublicKey, "HERALD_JWT_PUBLIC_KEY",
         "PEM public key file: RSA -> RS256 tokens, EC P-256 -> ES256", "PATH");
  scalar("--jwt-leeway", raw.jwtLeeway, "HERALD_JWT_LEEWAY", "Clock skew allowed on exp and nbf", duration);
  scalar("--jwt-audience", raw.jwtAudience, "HERALD_JWT_AUDIENCE", "Required aud claim (unset: not checked)",
         "TEXT");
  scalar("--jwt-issuer", raw.jwtIssuer, "HERALD_JWT_ISSUER", "Required iss claim (unset: not checked)",
         "TEXT");
  scalar("--max-header-bytes", raw.maxHeaderBytes, "HERALD_MAX_HEADER_BYTES",
         "Request line + headers (both listeners), larger is 431", size);
  scalar("--max-headers", raw.maxHeaders, "HERALD_MAX_HEADERS",
         "Request header count (both listeners), more is 431", "COUNT");
  scalar("--max-request-line", raw.maxRequestLine, "HERALD_MAX_REQUEST_LINE",
         "Request target length (both listeners), longer is 414", size);
  scalar("--max-channels-per-stream", raw.maxChannelsPerStream, "HERALD_MAX_CHANNELS_PER_STREAM",
         "Channels one stream may subscribe to", "COUNT");
  scalar("--max-connections-per-ip", raw.maxConnectionsPerIp, "HERALD_MAX_CONNECTIONS_PER_IP",
         "Open stream connections per client address, more is 429 (0 = no limit)", "COUNT");
  auto* corsOption =
      app.add_option("--cors-origin", raw.corsOrigins,
                     "Allowed browser origin, or * (no credentials); repeatable (env HERALD_CORS_ORIGIN, "
                     "comma-separated)")
          ->allow_extra_args(false)
          ->type_name("ORIGIN");
  scalar("--log-level", raw.logLevel, "HERALD_LOG_LEVEL", "trace|debug|info|warn|error", "LEVEL");
  scalar("--log-format", raw.logFormat, "HERALD_LOG_FORMAT", "text|json", "FORMAT");

  ConfigParse result;
  try {
    app.parse(argc, argv);
    auto listFromEnv = [](CLI::Option* option, const char* env, std::vector<std::string>& target) {
      const char* value = std::getenv(env);
      if (option->count() == 0 && value != nullptr) {
        target = splitList(value);
      }
    };
    listFromEnv(apiKeyOption, "HERALD_API_KEY", raw.apiKeys);
    listFromEnv(corsOption, "HERALD_CORS_ORIGIN", raw.corsOrigins);
    result.config = convert(raw);
    // Only from the environment: a flag would put the password in the process list.
    if (const char* password = std::getenv("HERALD_REDIS_PASSWORD"); password != nullptr) {
      result.config.redisPassword = password;
    }
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; real usage errors exit 2.
    int code = app.exit(e);
    result.exit = true;
    result.exitCode = code == 0 ? 0 : kExitUsageError;
  } catch (const ConfigError& e) {
    std::cerr << "herald: " << e.what() << "\n";
    result.exit = true;
    result.exitCode = kExitUsageError;
  }
  return result;
}

}  // namespace herald
