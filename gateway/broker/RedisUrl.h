// RedisUrl: the `--broker redis://…` / `rediss://…` / `redis+cluster://…` address and credentials, parsed
// once.
//
// The Redis broker connects (and reconnects) to one address and database (or, in
// cluster mode, discovers a Redis Cluster from one or more seed nodes), with
// an optional ACL user and password, over TCP or TLS; the database number also
// becomes part of the pub/sub channel names, because Redis pub/sub ignores
// databases. A password never leaves this struct in text meant for people:
// str() and every parse error show it as `***`. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald {

inline constexpr int kDefaultRedisPort = 6379;

struct RedisHostPort {
  std::string host;
  int port = kDefaultRedisPort;
  bool operator==(const RedisHostPort&) const = default;
};

struct RedisAddress {
  bool tls = false;      // rediss:// or rediss+cluster://
  bool cluster = false;  // redis+cluster:// or rediss+cluster://: host/port is the first of `seeds`
  std::string user;      // empty: AUTH with the password only (the `default` user)
  std::string password;  // empty: no AUTH
  std::string host;
  int port = kDefaultRedisPort;
  int db = 0;                        // always 0 in cluster mode
  std::vector<RedisHostPort> seeds;  // cluster mode only: every seed node, in URL order

  // `redis://user:***@host:port/db` (cluster: `redis+cluster://user:***@h1:p1,h2:p2`), for logs:
  // the password is never shown.
  std::string str() const;
};

// What TLS to Redis trusts and presents (used with rediss:// only).
struct RedisTlsSettings {
  std::string caFile;    // PEM trust anchors; empty: the system trust store
  std::string certFile;  // client certificate (mutual TLS), with keyFile
  std::string keyFile;
  std::string serverName;  // SNI and the name verified; empty: the URL's host
};

// Parses `redis[s]://[user[:password]@]host[:port][/db]` (port 1-65535, default
// 6379; db 0 or more, default 0; an IPv6 host in brackets; user and password may
// be %-encoded) and `redis[s]+cluster://[user[:password]@]host:port[,host:port…]`
// (database 0 only: `/0` or nothing). Throws std::invalid_argument naming what is
// wrong, with the password redacted.
RedisAddress parseRedisUrl(std::string_view url);

// `url` with the password of its credentials replaced by `***` (for messages
// about a URL that may not parse).
std::string redactRedisUrl(std::string_view url);

}  // namespace herald
