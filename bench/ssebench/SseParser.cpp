#include "bench/ssebench/SseParser.h"

namespace ssebench {

void SseParser::feed(std::string_view bytes) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c != '\n' && c != '\r') {
      continue;
    }
    // The LF of a CRLF split across two reads ends nothing new.
    if (c == '\n' && lastWasCr_ && i == 0 && line_.empty()) {
      lastWasCr_ = false;
      start = 1;
      continue;
    }
    line_.append(bytes.data() + start, i - start);
    processLine(line_);
    line_.clear();
    start = i + 1;
    if (c == '\r') {
      if (i + 1 < bytes.size()) {
        if (bytes[i + 1] == '\n') {
          ++i;
          start = i + 1;
        }
        lastWasCr_ = false;
      } else {
        lastWasCr_ = true;
      }
    } else {
      lastWasCr_ = false;
    }
  }
  if (start < bytes.size()) {
    lastWasCr_ = false;
    line_.append(bytes.data() + start, bytes.size() - start);
  }
}

void SseParser::processLine(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  if (field == "data") {
    if (hasData_) {
      data_ += '\n';
    }
    data_.append(value);
    hasData_ = true;
  } else if (field == "event") {
    eventType_.assign(value);
  } else if (field == "id") {
    // An id with a NUL is ignored by browsers; servers under test never send one.
    if (value.find('\0') == std::string_view::npos) {
      lastEventId_.assign(value);
    }
  } else if (field == "retry") {
    ++retries_;
  }
}

void SseParser::dispatch() {
  if (hasData_) {
    onEvent_(SseEvent{lastEventId_, eventType_, data_});
  }
  data_.clear();
  hasData_ = false;
  eventType_.clear();
}

void SseParser::resetStream() {
  line_.clear();
  lastWasCr_ = false;
  data_.clear();
  hasData_ = false;
  eventType_.clear();
}

}  // namespace ssebench
