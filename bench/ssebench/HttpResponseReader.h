// HttpResponseReader: incremental HTTP/1.1 response decoding for the load
// generator's sockets (SSE streams and keep-alive publish connections).
//
// It parses the status line and the headers it needs (Content-Length,
// Transfer-Encoding: chunked, Connection: close), then decodes the body in any
// of the three framings HTTP/1.1 allows: by length, chunked (nginx streams
// Nchan's event-stream this way) or until close (Herald's streams). Body bytes
// are handed out as they arrive; nothing is buffered beyond an incomplete head
// or chunk-size line.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace ssebench {

class HttpResponseReader {
 public:
  enum class Result { needMore, complete, error };
  using BodyHandler = std::function<void(std::string_view)>;

  // Feeds bytes; body bytes go to onBody. Returns complete once a framed body
  // (length or chunked) has ended; bytes after that are not consumed and
  // `consumed` tells how many were.
  Result feed(std::string_view bytes, const BodyHandler& onBody, std::size_t* consumed = nullptr);

  bool headComplete() const { return state_ != State::head; }
  int status() const { return status_; }
  bool keepAlive() const { return keepAlive_; }
  // Prepares for the next response on the same connection.
  void reset();

 private:
  enum class State { head, lengthBody, chunkSize, chunkData, chunkDataEnd, trailer, closeBody, done };

  // Hands up to `remaining_` bytes of a counted body (Content-Length or one chunk)
  // to onBody; true when the count is complete (then the state becomes `next`).
  bool takeCounted(std::string_view& bytes, const BodyHandler& onBody, State next);

  bool parseHead(std::string_view head);

  State state_ = State::head;
  std::string pending_;  // an incomplete head or chunk-size line
  int status_ = 0;
  bool keepAlive_ = true;
  std::size_t remaining_ = 0;
};

}  // namespace ssebench
