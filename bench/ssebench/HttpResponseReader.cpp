#include "bench/ssebench/HttpResponseReader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace ssebench {

namespace {
constexpr std::size_t kMaxHeadBytes = 16 * 1024;
constexpr std::string_view kHeadEnd = "\r\n\r\n";

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool containsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (equalsIgnoreCase(haystack.substr(i, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}
}  // namespace

void HttpResponseReader::reset() {
  state_ = State::head;
  pending_.clear();
  status_ = 0;
  keepAlive_ = true;
  remaining_ = 0;
}

bool HttpResponseReader::parseHead(std::string_view head) {
  // "HTTP/1.1 200 OK"
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
    return false;
  }
  status_ = std::atoi(std::string(head.substr(9, 3)).c_str());
  bool chunked = false;
  bool hasLength = false;
  std::size_t length = 0;
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string_view line =
        head.substr(pos + 2, next == std::string_view::npos ? std::string_view::npos : next - pos - 2);
    pos = next;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (equalsIgnoreCase(name, "content-length")) {
      hasLength = true;
      length = std::strtoull(std::string(value).c_str(), nullptr, 10);
    } else if (equalsIgnoreCase(name, "transfer-encoding")) {
      chunked = containsIgnoreCase(value, "chunked");
    } else if (equalsIgnoreCase(name, "connection")) {
      keepAlive_ = !containsIgnoreCase(value, "close");
    }
  }
  if (chunked) {
    state_ = State::chunkSize;
  } else if (hasLength) {
    remaining_ = length;
    state_ = length == 0 ? State::done : State::lengthBody;
  } else {
    keepAlive_ = false;
    state_ = State::closeBody;
  }
  return true;
}

bool HttpResponseReader::takeCounted(std::string_view& bytes, const BodyHandler& onBody, State next) {
  std::size_t n = std::min(remaining_, bytes.size());
  if (n > 0) {
    onBody(bytes.substr(0, n));
  }
  bytes.remove_prefix(n);
  remaining_ -= n;
  if (remaining_ != 0) {
    return false;
  }
  state_ = next;
  return true;
}

HttpResponseReader::Result HttpResponseReader::feed(std::string_view bytes, const BodyHandler& onBody,
                                                    std::size_t* consumed) {
  const std::size_t total = bytes.size();
  auto finish = [&](Result r) {
    if (consumed != nullptr) {
      *consumed = total - bytes.size();
    }
    return r;
  };
  while (true) {
    switch (state_) {
      case State::head: {
        std::size_t before = pending_.size();
        pending_.append(bytes);
        auto end = pending_.find(kHeadEnd);
        if (end == std::string::npos) {
          if (pending_.size() > kMaxHeadBytes) {
            return finish(Result::error);
          }
          bytes = {};
          return finish(Result::needMore);
        }
        std::size_t used = end + kHeadEnd.size() - before;
        bytes.remove_prefix(used);
        std::string head = pending_.substr(0, end + 2);
        pending_.clear();
        if (!parseHead(head)) {
          return finish(Result::error);
        }
        break;
      }
      case State::lengthBody:
        if (!takeCounted(bytes, onBody, State::done)) {
          return finish(Result::needMore);
        }
        break;
      case State::closeBody:
        if (!bytes.empty()) {
          onBody(bytes);
        }
        bytes = {};
        return finish(Result::needMore);
      case State::chunkSize:
      case State::chunkDataEnd:
      case State::trailer: {
        auto eol = bytes.find('\n');
        if (eol == std::string_view::npos) {
          pending_.append(bytes);
          bytes = {};
          if (pending_.size() > kMaxHeadBytes) {
            return finish(Result::error);
          }
          return finish(Result::needMore);
        }
        pending_.append(bytes.substr(0, eol + 1));
        bytes.remove_prefix(eol + 1);
        std::string line = std::move(pending_);
        pending_.clear();
        if (state_ == State::chunkDataEnd) {
          state_ = State::chunkSize;  // the CRLF after a chunk's data
        } else if (state_ == State::trailer) {
          if (line == "\r\n" || line == "\n") {
            state_ = State::done;
          }
        } else {
          remaining_ = std::strtoull(line.c_str(), nullptr, 16);
          state_ = remaining_ == 0 ? State::trailer : State::chunkData;
        }
        break;
      }
      case State::chunkData:
        if (!takeCounted(bytes, onBody, State::chunkDataEnd)) {
          return finish(Result::needMore);
        }
        break;
      case State::done:
        return finish(Result::complete);
    }
  }
}

}  // namespace ssebench
