// parseDuration and parseSize: the text forms of durations and sizes that every
// setting accepts (see Config.h).
#include <cmath>
#include <cstdlib>
#include <optional>

#include "gateway/config/Config.h"

namespace herald {

namespace {

constexpr double kMillisPerSecond = 1000.0;
constexpr double kMillisPerMinute = 60 * kMillisPerSecond;
constexpr double kMillisPerHour = 60 * kMillisPerMinute;
constexpr double kBytesPerKiB = 1024.0;
constexpr double kBytesPerMiB = 1024.0 * 1024.0;
// Far beyond any sensible setting (about 31 years, 1 PiB); keeps the conversions exact in a double.
constexpr double kMaxDurationMillis = 1e12;
constexpr double kMaxSizeBytes = 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0;

std::string inQuotes(std::string_view text) {
  return "'" + std::string(text) + "'";
}

// The leading `<digits>[.<digits>]` of `text` as a double, and the unit text after it.
struct NumberAndUnit {
  double value;
  std::string_view unit;
  bool fractional;
};

std::optional<NumberAndUnit> splitNumber(std::string_view text) {
  std::size_t pos = 0;
  auto digitsFrom = [&](std::size_t start) {
    std::size_t end = start;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
      ++end;
    }
    return end;
  };
  pos = digitsFrom(0);
  if (pos == 0) {
    return std::nullopt;
  }
  bool fractional = false;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t end = digitsFrom(pos + 1);
    if (end == pos + 1) {
      return std::nullopt;  // "1." has no fraction digits
    }
    pos = end;
    fractional = true;
  }
  // The number part is plain ASCII decimal, so strtod (C locale at start-up) reads it whole.
  std::string number(text.substr(0, pos));
  return NumberAndUnit{std::strtod(number.c_str(), nullptr), text.substr(pos), fractional};
}

}  // namespace

milliseconds parseDuration(std::string_view text) {
  auto parsed = splitNumber(text);
  if (!parsed) {
    throw ConfigError("expected a duration like 15, 1.5, 500ms, 3s, 5m or 24h, got " + inQuotes(text));
  }
  double factor = 0;
  if (parsed->unit.empty() || parsed->unit == "s") {
    factor = kMillisPerSecond;
  } else if (parsed->unit == "ms") {
    factor = 1;
  } else if (parsed->unit == "m") {
    factor = kMillisPerMinute;
  } else if (parsed->unit == "h") {
    factor = kMillisPerHour;
  } else {
    throw ConfigError("unknown duration unit " + inQuotes(parsed->unit) + " in " + inQuotes(text) +
                      " (use ms, s, m or h)");
  }
  double millis = parsed->value * factor;
  if (millis > kMaxDurationMillis) {
    throw ConfigError("duration " + inQuotes(text) + " is too long");
  }
  return milliseconds{std::llround(millis)};
}

std::size_t parseSize(std::string_view text) {
  auto parsed = splitNumber(text);
  if (!parsed) {
    throw ConfigError("expected a size like 65536, 256KiB or 1MiB, got " + inQuotes(text));
  }
  double factor = 0;
  if (parsed->unit.empty()) {
    factor = 1;
  } else if (parsed->unit == "KiB") {
    factor = kBytesPerKiB;
  } else if (parsed->unit == "MiB") {
    factor = kBytesPerMiB;
  } else {
    throw ConfigError("unknown size unit " + inQuotes(parsed->unit) + " in " + inQuotes(text) +
                      " (use KiB or MiB)");
  }
  double bytes = parsed->value * factor;
  if (bytes != std::floor(bytes)) {
    throw ConfigError("size " + inQuotes(text) + " is not a whole number of bytes");
  }
  if (bytes > kMaxSizeBytes) {
    throw ConfigError("size " + inQuotes(text) + " is too large");
  }
  return static_cast<std::size_t>(bytes);
}

std::string formatDuration(milliseconds value) {
  auto ms = value.count();
  if (ms % static_cast<long long>(kMillisPerHour) == 0 && ms != 0) {
    return std::to_string(ms / static_cast<long long>(kMillisPerHour)) + "h";
  }
  if (ms % static_cast<long long>(kMillisPerMinute) == 0 && ms != 0) {
    return std::to_string(ms / static_cast<long long>(kMillisPerMinute)) + "m";
  }
  if (ms % static_cast<long long>(kMillisPerSecond) == 0) {
    return std::to_string(ms / static_cast<long long>(kMillisPerSecond)) + "s";
  }
  return std::to_string(ms) + "ms";
}

std::string formatSize(std::size_t bytes) {
  auto mib = static_cast<std::size_t>(kBytesPerMiB);
  auto kib = static_cast<std::size_t>(kBytesPerKiB);
  if (bytes % mib == 0) {
    return std::to_string(bytes / mib) + "MiB";
  }
  if (bytes % kib == 0) {
    return std::to_string(bytes / kib) + "KiB";
  }
  return std::to_string(bytes);
}

}  // namespace herald
