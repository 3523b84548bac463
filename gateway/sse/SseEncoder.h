// SseEncoder: turns notifications into `text/event-stream` bytes. Pure: no I/O.
//
// The stream side encodes each notification once into a shared buffer and
// writes that buffer to every subscriber, so this is the only place that knows
// the wire format: `id:`, `event:` and `data:` lines, `retry:` lines and `:`
// comments. A JSON string value is sent as its text, one `data:` line per line
// (LF, CRLF and CR all split); any other JSON value as compact JSON on one line.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace herald::sse {

// An event. `id` empty: no `id:` line; `event` empty: no `event:` line.
// `dataJson` is the notification's data as compact JSON text.
std::string encodeEvent(std::string_view id, std::string_view event, std::string_view dataJson);

// Appends the `data:` lines for `dataJson` (string values unwrapped and split).
void appendData(std::string& out, std::string_view dataJson);

// Appends `data:` lines for a raw text payload, split on LF, CRLF and CR.
void appendTextData(std::string& out, std::string_view text);

// `id: <id>\n\n`: moves the client's Last-Event-ID without dispatching an event
// (an event with an empty data buffer is not dispatched by EventSource).
std::string encodeIdOnly(std::string_view id);

std::string encodeRetry(std::chrono::milliseconds retry);

// A comment line; CR/LF in `text` are replaced by spaces so it stays one line.
std::string encodeComment(std::string_view text);

}  // namespace herald::sse
