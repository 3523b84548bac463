#include "gateway/broker/redis/ClusterSlots.h"

#include <charconv>

namespace herald {

namespace {

constexpr std::uint16_t kPolynomial = 0x1021;
constexpr int kBitsPerByte = 8;
constexpr std::uint16_t kTopBit = 0x8000;
constexpr std::uint16_t kSlotMask = kClusterSlots - 1;
constexpr std::uint16_t kNoOwner = 0xFFFF;
constexpr int kMaxPort = 65535;

bool toNumber(std::string_view text, long long min, long long max, long long& out) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

[[noreturn]] void badReply(const std::string& why) {
  throw RedisError("Redis CLUSTER SLOTS: unexpected reply (" + why + ")");
}

}  // namespace

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (char c : data) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(c)) << kBitsPerByte;
    for (int bit = 0; bit < kBitsPerByte; ++bit) {
      crc = (crc & kTopBit) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ kPolynomial)
                                 : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::uint16_t keySlot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16(key) & kSlotMask;
}

SlotMap SlotMap::fromClusterSlots(const redisReply& reply, const RedisHostPort& askedNode) {
  throwIfErrorReply(reply, "CLUSTER SLOTS");
  if (reply.type != REDIS_REPLY_ARRAY) {
    badReply("not an array");
  }
  SlotMap map;
  map.owner_.fill(kNoOwner);
  for (std::size_t i = 0; i < reply.elements; ++i) {
    const redisReply& range = *reply.element[i];
    if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 ||
        range.element[0]->type != REDIS_REPLY_INTEGER || range.element[1]->type != REDIS_REPLY_INTEGER ||
        range.element[2]->type != REDIS_REPLY_ARRAY || range.element[2]->elements < 2) {
      badReply("a malformed slot range");
    }
    const long long first = range.element[0]->integer;
    const long long last = range.element[1]->integer;
    if (first < 0 || last < first || last >= static_cast<long long>(kClusterSlots)) {
      badReply("slot range out of bounds");
    }
    const redisReply& master = *range.element[2];
    RedisHostPort node;
    node.host = std::string(replyText(*master.element[0]));
    if (master.element[1]->type != REDIS_REPLY_INTEGER || master.element[1]->integer < 1 ||
        master.element[1]->integer > kMaxPort) {
      badReply("a malformed port");
    }
    node.port = static_cast<int>(master.element[1]->integer);
    if (node.host.empty() || node.host == "?") {
      node.host = askedNode.host;
    }
    map.move(static_cast<std::uint16_t>(first), node);
    const std::uint16_t owner = map.owner_[first];
    for (long long slot = first; slot <= last; ++slot) {
      map.owner_[slot] = owner;
    }
  }
  for (std::size_t slot = 0; slot < kClusterSlots; ++slot) {
    if (map.owner_[slot] == kNoOwner) {
      throw RedisError("Redis Cluster: slot " + std::to_string(slot) + " has no master (CLUSTERDOWN)");
    }
  }
  return map;
}

void SlotMap::move(std::uint16_t slot, const RedisHostPort& node) {
  std::size_t index = 0;
  while (index < masters_.size() && !(masters_[index] == node)) {
    ++index;
  }
  if (index == masters_.size()) {
    masters_.push_back(node);
  }
  owner_[slot & kSlotMask] = static_cast<std::uint16_t>(index);
}

std::optional<ClusterRedirect> parseRedirect(std::string_view errorText) {
  ClusterRedirect redirect{};
  if (errorText.starts_with("MOVED ")) {
    redirect.kind = ClusterRedirect::Kind::Moved;
    errorText.remove_prefix(6);
  } else if (errorText.starts_with("ASK ")) {
    redirect.kind = ClusterRedirect::Kind::Ask;
    errorText.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = errorText.find(' ');
  const auto colon = errorText.rfind(':');
  long long slot = 0;
  long long port = 0;
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space ||
      !toNumber(errorText.substr(0, space), 0, kClusterSlots - 1, slot) ||
      !toNumber(errorText.substr(colon + 1), 1, kMaxPort, port)) {
    return std::nullopt;
  }
  redirect.slot = static_cast<std::uint16_t>(slot);
  std::string_view host = errorText.substr(space + 1, colon - space - 1);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  redirect.node = {std::string(host), static_cast<int>(port)};
  return redirect;
}

bool isClusterRetry(std::string_view errorText) {
  return errorText.starts_with("TRYAGAIN") || errorText.starts_with("CLUSTERDOWN");
}

}  // namespace herald
