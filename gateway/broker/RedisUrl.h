// RedisUrl: the `--broker redis://host:port[/db]` address, parsed once.
//
// The Redis broker connects (and reconnects) to one address and database; the
// database number also becomes part of the pub/sub channel names, because Redis
// pub/sub ignores databases. Pure: no I/O.
#pragma once

#include <string>
#include <string_view>

namespace herald {

inline constexpr int kDefaultRedisPort = 6379;

struct RedisAddress {
  std::string host;
  int port = kDefaultRedisPort;
  int db = 0;

  // `redis://host:port/db`, for logs.
  std::string str() const;
};

// Parses `redis://host[:port][/db]` (port 1-65535, default 6379; db 0 or more,
// default 0; an IPv6 host in brackets). Throws std::invalid_argument naming what
// is wrong.
RedisAddress parseRedisUrl(std::string_view url);

}  // namespace herald
