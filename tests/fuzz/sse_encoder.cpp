// Fuzz target: the SSE encoder. Any text, sent as an event's data (raw or as a JSON
// string), any event type and id, must come back unchanged through a small SSE
// parser that follows the HTML standard's rules, with LF/CRLF/CR line ends becoming LF.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/sse/SseEncoder.h"

namespace {

struct ParsedEvent {
  std::string id;
  std::string event;
  std::string data;
  bool dispatched = false;
};

// The event stream interpretation of the HTML standard (9.2.6), for one event.
ParsedEvent parseOne(std::string_view stream) {
  ParsedEvent out;
  std::vector<std::string> dataLines;
  std::size_t pos = 0;
  while (pos <= stream.size()) {
    std::size_t end = stream.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      break;  // an unterminated line is not processed
    }
    std::string_view line = stream.substr(pos, end - pos);
    pos = end + ((stream[end] == '\r' && end + 1 < stream.size() && stream[end + 1] == '\n') ? 2 : 1);
    if (line.empty()) {
      out.dispatched = !dataLines.empty();
      break;
    }
    if (line[0] == ':') {
      continue;
    }
    std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') {
      value.remove_prefix(1);
    }
    if (field == "data") {
      dataLines.emplace_back(value);
    } else if (field == "event") {
      out.event = value;
    } else if (field == "id") {
      out.id = value;
    }
  }
  for (std::size_t i = 0; i < dataLines.size(); ++i) {
    out.data += (i == 0 ? "" : "\n") + dataLines[i];
  }
  return out;
}

std::string normalizeLineEnds(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
    } else {
      out += text[i];
    }
  }
  return out;
}

// Ids and event types never hold line breaks (publish validation refuses them).
std::string oneLine(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '\r' && c != '\n' && c != '\0') {
      out += c;
    }
  }
  return out;
}

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Layout: <event>\x01<id>\x01<text>; missing parts are empty.
  std::size_t first = input.find('\x01');
  std::size_t second = first == std::string_view::npos ? first : input.find('\x01', first + 1);
  std::string event = oneLine(input.substr(0, first));
  std::string id = first == std::string_view::npos ? "" : oneLine(input.substr(first + 1, second - first - 1));
  std::string_view text = second == std::string_view::npos ? input : input.substr(second + 1);

  // Raw text payload.
  std::string raw;
  herald::sse::appendTextData(raw, text);
  raw += '\n';
  ParsedEvent parsedRaw = parseOne(raw);
  check(parsedRaw.dispatched);
  check(parsedRaw.data == normalizeLineEnds(text));

  // A JSON string value is unwrapped: the client sees the text itself.
  auto asJson = nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore);
  std::string decoded = nlohmann::json::parse(asJson).get<std::string>();
  std::string frame = herald::sse::encodeEvent(id, event, asJson);
  ParsedEvent parsed = parseOne(frame);
  check(parsed.dispatched);
  check(parsed.data == normalizeLineEnds(decoded));
  check(parsed.event == event);
  check(parsed.id == id);

  // Any other JSON value is sent compact, on one line.
  auto value = nlohmann::json::parse(text, nullptr, false);
  if (!value.is_discarded() && !value.is_string()) {
    std::string compact = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore);
    check(parseOne(herald::sse::encodeEvent(id, event, compact)).data == compact);
  }
  return 0;
}
