#include "gateway/sse/SseEncoder.h"

#include <nlohmann/json.hpp>

namespace herald::sse {

void appendTextData(std::string& out, std::string_view text) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r') {
      out.append("data: ").append(text.substr(start, i - start)).push_back('\n');
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      start = i + 1;
    }
  }
  out.append("data: ").append(text.substr(start)).push_back('\n');
}

void appendData(std::string& out, std::string_view dataJson) {
  if (!dataJson.empty() && dataJson.front() == '"') {
    // A JSON string is sent as its text. Brokers store data as validated compact
    // JSON, so parsing cannot fail here; if it ever does, fall back to the JSON text.
    auto value = nlohmann::json::parse(dataJson, nullptr, false);
    if (value.is_string()) {
      appendTextData(out, value.get_ref<const std::string&>());
      return;
    }
  }
  out.append("data: ").append(dataJson).push_back('\n');
}

std::string encodeEvent(std::string_view id, std::string_view event, std::string_view dataJson) {
  std::string out;
  out.reserve(id.size() + event.size() + dataJson.size() + 32);
  if (!id.empty()) {
    out.append("id: ").append(id).push_back('\n');
  }
  if (!event.empty()) {
    out.append("event: ").append(event).push_back('\n');
  }
  appendData(out, dataJson);
  out.push_back('\n');
  return out;
}

std::string encodeIdOnly(std::string_view id) { return "id: " + std::string(id) + "\n\n"; }

std::string encodeRetry(std::chrono::milliseconds retry) {
  return "retry: " + std::to_string(retry.count()) + "\n";
}

std::string encodeComment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) {
    out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
  out.push_back('\n');
  return out;
}

}  // namespace herald::sse
