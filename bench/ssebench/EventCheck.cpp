#include "bench/ssebench/EventCheck.h"

#include <charconv>

namespace ssebench {

namespace {
std::optional<std::uint64_t> numberAfter(std::string_view data, std::string_view key) {
  auto at = data.find(key);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const char* first = data.data() + at + key.size();
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(first, data.data() + data.size(), value);
  if (ec != std::errc{} || end == first) {
    return std::nullopt;
  }
  return value;
}
}  // namespace

std::optional<Payload> parsePayload(std::string_view data) {
  auto seq = numberAfter(data, "\"seq\":");
  auto t = numberAfter(data, "\"t\":");
  if (!seq || !t) {
    return std::nullopt;
  }
  return Payload{*seq, *t};
}

int compareIds(std::string_view a, std::string_view b) {
  while (true) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    auto [ea, eca] = std::from_chars(a.data(), a.data() + a.size(), x);
    auto [eb, ecb] = std::from_chars(b.data(), b.data() + b.size(), y);
    (void)eca;
    (void)ecb;
    if (x != y) {
      return x < y ? -1 : 1;
    }
    a.remove_prefix(static_cast<std::size_t>(ea - a.data()));
    b.remove_prefix(static_cast<std::size_t>(eb - b.data()));
    bool moreA = !a.empty();
    bool moreB = !b.empty();
    if (!moreA || !moreB) {
      return moreA == moreB ? 0 : (moreA ? 1 : -1);
    }
    a.remove_prefix(1);  // the separator
    b.remove_prefix(1);
  }
}

bool acceptSeq(SequenceState& state, std::uint64_t seq) {
  if (seq <= state.lastSeq) {
    ++state.duplicates;
    return false;
  }
  state.gaps += seq - state.lastSeq - 1;
  state.lastSeq = seq;
  ++state.received;
  return true;
}

}  // namespace ssebench
