#include "tests/support/EventSourceClient.h"

#include "tests/support/SocketClients.h"

namespace herald::test {

namespace {
// EventSource's default reconnection time, until the server sends `retry:`.
constexpr auto kDefaultRetry = std::chrono::milliseconds(3000);
constexpr auto kReadSlice = std::chrono::milliseconds(200);
}  // namespace

EventSourceClient::EventSourceClient(int port, std::string target, std::size_t expected,
                                     std::chrono::steady_clock::time_point deadline)
    : port_(port), target_(std::move(target)), expected_(expected), deadline_(deadline) {
  thread_ = std::thread([this] { run(); });
}

EventSourceClient::~EventSourceClient() {
  join();
}

void EventSourceClient::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void EventSourceClient::run() {
  std::string lastEventId;
  auto retry = kDefaultRetry;
  bool first = true;
  while (data_.size() < expected_ && std::chrono::steady_clock::now() < deadline_) {
    if (!first) {
      ++reconnects_;
      std::this_thread::sleep_for(retry);
    }
    first = false;
    try {
      std::vector<std::pair<std::string, std::string>> headers;
      if (!lastEventId.empty()) {
        headers.emplace_back("Last-Event-ID", lastEventId);
      }
      SseClient client(port_, target_, headers);
      if (client.readHead(std::chrono::seconds(5)) != 200) {
        continue;
      }
      connected_ = true;
      while (data_.size() < expected_ && std::chrono::steady_clock::now() < deadline_) {
        auto event = client.next(kReadSlice);
        if (client.retryMs()) {
          retry = std::chrono::milliseconds(*client.retryMs());
        }
        lastEventId = client.lastEventId();
        if (!event) {
          if (client.waitClosed(std::chrono::milliseconds(0))) {
            break;  // the stream ended: reconnect like EventSource
          }
          continue;
        }
        if (event->event == "herald.reset") {
          ++resets_;
        } else {
          data_.push_back(event->data);
        }
      }
    } catch (const std::exception&) {
      // connection refused or reset: EventSource retries
    }
  }
}

}  // namespace herald::test
