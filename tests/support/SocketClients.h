// SocketClients: small blocking HTTP and SSE clients over real loopback sockets.
//
// Integration tests check exact bytes, so these do no magic: HttpClient sends
// one request per connection and reads the whole answer; SseClient keeps a
// stream open, exposes every byte read and parses events like EventSource.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herald::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One request on a new connection ("Connection: close"). Throws on socket errors.
HttpResponse httpRequest(int port, const std::string& method, const std::string& target,
                         const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// POST /v1/notifications with a JSON body on the api port.
HttpResponse publish(int apiPort, const std::string& jsonBody,
                     const std::vector<std::pair<std::string, std::string>>& headers = {});

// Sends raw bytes on a new connection and returns all the server sends back until
// it closes (or `timeout` passes; then `closedByServer` is false).
struct RawExchange {
  std::string received;
  bool closedByServer = false;
};
RawExchange rawExchange(int port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Publishes `dataJson` (any JSON text) to `channel`, expects 200 and returns the
// notification id ("" and a test failure otherwise).
std::string publishId(int apiPort, const std::string& channel, const std::string& dataJson,
                      const std::string& event = "");

// Publishes notifications {"n": first..first+count-1, "pad": padding} to `channel` in one
// batch and expects 200 (the large-replay and backpressure tests' filler).
void publishNumbered(int apiPort, const std::string& channel, int first, int count,
                     const std::string& padding);

// The value of an unlabelled metric in /metrics; -1 when it is not there.
double scrapeMetric(int apiPort, const std::string& name);

struct SseEvent {
  std::string id;  // the `id:` of the event ("" when none)
  bool hasId = false;
  std::string event;  // "" when none
  std::string data;   // data lines joined by '\n'
};

class SseClient {
 public:
  // Connects and sends `GET target`; `headers` are extra request headers.
  SseClient(int port, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers = {});
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // Reads until the response head is complete; returns the status.
  int readHead(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::map<std::string, std::string>& headers() const { return headers_; }

  // The next dispatched event (comments, retry and id-only blocks are skipped,
  // but an id-only block updates lastEventId()). nullopt on timeout or close.
  std::optional<SseEvent> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Collects `count` events or fails the test with what it got.
  std::vector<SseEvent> take(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits until the body holds at least `bytes` bytes (false on timeout/close).
  bool readBody(std::size_t bytes, std::chrono::milliseconds timeout);
  // True once the server closed the connection (waits up to `timeout`).
  bool waitClosed(std::chrono::milliseconds timeout);

  const std::string& body() const { return body_; }  // every byte after the head
  const std::string& lastEventId() const { return lastEventId_; }
  std::optional<long> retryMs() const { return retry_; }
  void close();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool closed_ = false;
  std::string raw_;
  bool headDone_ = false;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string body_;
  std::size_t parsed_ = 0;  // how much of body_ the event parser consumed
  std::string lastEventId_;
  std::optional<long> retry_;
};

}  // namespace herald::test
