// SseParser: an incremental text/event-stream parser for the load generator.
//
// It follows the WHATWG EventSource processing model closely enough to check a
// server: lines end in LF, CRLF or CR (a CR at the end of one read may be the
// first half of a CRLF); `data:` lines accumulate; a blank line dispatches the
// event, but only when it has data (an `id:`-only block just moves the last
// event id, exactly as a browser would); comments (`:`) and `retry:` are
// counted, never dispatched. It never allocates per event beyond the data text.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace ssebench {

struct SseEvent {
  std::string_view id;     // the last event id after this event (may be empty)
  std::string_view event;  // the event type, empty for the default `message`
  std::string_view data;   // data lines joined with LF
};

class SseParser {
 public:
  using EventHandler = std::function<void(const SseEvent&)>;

  explicit SseParser(EventHandler onEvent) : onEvent_(std::move(onEvent)) {}

  // Feeds the next bytes of the stream body (any split is fine).
  void feed(std::string_view bytes);

  const std::string& lastEventId() const { return lastEventId_; }
  std::size_t comments() const { return comments_; }
  std::size_t retries() const { return retries_; }
  // Clears per-stream state but keeps the last event id (what a reconnect sends).
  void resetStream();

 private:
  void processLine(std::string_view line);
  void dispatch();

  EventHandler onEvent_;
  std::string line_;
  bool lastWasCr_ = false;
  std::string data_;
  bool hasData_ = false;
  std::string eventType_;
  std::string lastEventId_;
  std::size_t comments_ = 0;
  std::size_t retries_ = 0;
};

}  // namespace ssebench
