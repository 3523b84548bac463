// Bearer: the one parser of `Authorization: Bearer <token>` (RFC 6750), used for
// the api's keys and the stream listener's subscriber tokens. Pure.
#pragma once

#include <optional>
#include <string_view>

namespace herald {

// The token of a `Bearer` Authorization value (scheme case-insensitive, blanks around
// trimmed); nullopt for another scheme or an empty token.
std::optional<std::string_view> bearerToken(std::string_view authorization);

}  // namespace herald
