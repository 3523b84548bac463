#include "gateway/sse/StreamPayloads.h"

#include <nlohmann/json.hpp>

#include "gateway/sse/SseEncoder.h"

namespace herald::sse {

std::string envelopeData(const Notification& n) {
  std::string out = R"({"channel":")" + n.channel + R"(","id":")" + n.id.str() + '"';
  if (!n.event.empty()) {
    out += R"(,"event":)" + nlohmann::json(n.event).dump();
  }
  out += R"(,"data":)" + n.data + '}';
  return out;
}

std::string resetData(std::string_view channel, ResetReason reason) {
  nlohmann::json data = {{"channel", channel}, {"reason", toString(reason)}};
  return data.dump();
}

std::string encodeReset(std::string_view channel, ResetReason reason) {
  return encodeEvent("", kResetEvent, resetData(channel, reason));
}

}  // namespace herald::sse
