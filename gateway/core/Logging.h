// Logging: how herald's log lines look (`--log-format text|json`, `--log-level`).
//
// Text is for people at a terminal; JSON is one object per line for log
// shippers, so the message must be escaped (a quote or newline in a message
// would otherwise break the line). Nothing that logs may pass tokens, API keys
// or notification payloads: messages name peers, counts and reasons only.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace herald {

// The formatter of `format` ("text" or "json"; anything else is text).
std::unique_ptr<spdlog::formatter> makeLogFormatter(std::string_view format);

// Sets the default logger's level (spdlog names: trace, debug, info, warn, error, critical, off)
// and format.
void configureLogging(const std::string& level, std::string_view format);

// `text` as the inside of a JSON string (quotes, backslashes and control characters escaped).
void appendJsonEscaped(std::string_view text, std::string& out);

}  // namespace herald
