#include "gateway/core/NotificationId.h"

#include <charconv>

namespace herald {

namespace {
// Parses a non-empty run of decimal digits that fills `text` exactly.
std::optional<std::uint64_t> parseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 20) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}
}  // namespace

std::optional<NotificationId> NotificationId::parse(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    return std::nullopt;
  }
  auto ms = parseDecimal(text.substr(0, dash));
  auto seq = parseDecimal(text.substr(dash + 1));
  if (!ms || !seq) {
    return std::nullopt;
  }
  return NotificationId{*ms, *seq};
}

std::string NotificationId::str() const { return std::to_string(ms) + "-" + std::to_string(seq); }

}  // namespace herald
