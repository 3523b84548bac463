// HttpRules: small pure decisions the api listener makes about a request.
//
// Kept apart from ApiServer so they are unit-tested without sockets: whether a
// Content-Type is JSON, whether a peer address is loopback (the only publishers
// allowed when no API key is configured), how a `host:port` listen address
// splits, whether an `Authorization` header carries one of the API keys, and
// whether a `Host` names this machine.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

// `application/json`, optionally with `; charset=utf-8` (case-insensitive, blanks allowed).
bool isJsonContentType(std::string_view contentType);

// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address, as a peer's textual address.
bool isLoopbackAddress(std::string_view address);

// True when `authorization` is `Bearer <key>` for one of `keys` (compared in constant time).
bool bearerMatchesKey(std::string_view authorization, const std::vector<std::string>& keys);
// The entry of `keys` that `authorization` carries as a Bearer token, nullptr for none.
const std::string* bearerKey(std::string_view authorization, const std::vector<std::string>& keys);

// A `Host` header naming this machine: localhost, *.localhost, 127.x or [::1], any port
// (or no Host at all). Anything else, with no API key configured, may be a DNS-rebinding
// page in the developer's browser, and is refused.
bool isLoopbackHost(std::string_view host);

// Keys of an --api-key-file: one per line, blanks trimmed, empty lines and `#` comments skipped.
std::vector<std::string> parseApiKeyFile(std::string_view contents);

}  // namespace herald
