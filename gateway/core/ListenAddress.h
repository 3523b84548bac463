// ListenAddress: a `host:port` (or `[v6]:port`) listen setting, split. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald {

struct ListenAddress {
  std::string host;  // without brackets
  unsigned short port = 0;

  // nullopt when malformed (no port, port not 0-65535, empty host).
  static std::optional<ListenAddress> parse(std::string_view text);
};

}  // namespace herald
