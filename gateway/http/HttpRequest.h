// HttpRequest: one complete request as a handler sees it: Beast's message, the
// peer's address and the path parameters its route matched. Read-only helpers
// for headers and the query keep handlers free of Beast's iterator API.
#pragma once

#include "gateway/core/PercentDecode.h"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

struct HttpRequest {
  boost::beast::http::request<boost::beast::http::string_body> message;
  std::string remoteAddress;        // textual peer address
  std::vector<std::string> params;  // path parameters, percent-decoded, in pattern order

  std::string_view method() const { return message.method_string(); }
  std::string_view target() const { return message.target(); }
  // The target up to `?`.
  std::string_view path() const;
  // The value of the first header `name` (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  // The first query parameter `name`, percent-decoded ('+' is a space); nullopt if absent.
  std::optional<std::string> query(std::string_view name) const;
};

}  // namespace herald
