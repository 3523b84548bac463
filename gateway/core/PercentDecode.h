// PercentDecode: %XX escapes of URLs and query strings, decoded (pure). Both listeners
// read query parameters and path parameters through it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald {

// %XX (and, with plusIsSpace, '+') decoded; nullopt for a malformed escape.
std::optional<std::string> percentDecode(std::string_view text, bool plusIsSpace);

}  // namespace herald
