#include "tests/support/SocketClients.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace herald::test {

namespace {
int connectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  return fd;
}

void sendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      throw std::runtime_error("send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Splits "HTTP/1.1 200 OK\r\nName: value\r\n..." (without the final blank line).
void parseHead(const std::string& head, int& status, std::map<std::string, std::string>& headers) {
  std::size_t lineEnd = head.find("\r\n");
  std::string statusLine = head.substr(0, lineEnd);
  status = std::stoi(statusLine.substr(statusLine.find(' ') + 1, 3));
  std::size_t pos = lineEnd + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) {
      end = head.size();
    }
    std::string line = head.substr(pos, end - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers[lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
}

std::string buildRequest(const std::string& method, const std::string& target, const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) {
    request += name + ": " + value + "\r\n";
  }
  if (!body.empty() || method == "POST") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  return request;
}
}  // namespace

HttpResponse httpRequest(int port, const std::string& method, const std::string& target,
                         const std::string& body,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::chrono::milliseconds timeout) {
  int fd = connectLoopback(port);
  sendAll(fd, buildRequest(method, target, body, headers));
  std::string raw;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  HttpResponse response;
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::close(fd);
      throw std::runtime_error("timeout waiting for " + method + " " + target);
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    raw.append(buf, static_cast<std::size_t>(n));
    // Stop at Content-Length (keep-alive servers may not close at once).
    auto headEnd = raw.find("\r\n\r\n");
    if (headEnd != std::string::npos) {
      parseHead(raw.substr(0, headEnd), response.status, response.headers);
      auto it = response.headers.find("content-length");
      if (it != response.headers.end() && raw.size() >= headEnd + 4 + std::stoul(it->second)) {
        break;
      }
    }
  }
  ::close(fd);
  auto headEnd = raw.find("\r\n\r\n");
  if (headEnd == std::string::npos) {
    throw std::runtime_error("no HTTP response head from " + method + " " + target);
  }
  parseHead(raw.substr(0, headEnd), response.status, response.headers);
  response.body = raw.substr(headEnd + 4);
  return response;
}

HttpResponse publish(int apiPort, const std::string& jsonBody,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
  auto all = headers;
  all.emplace_back("Content-Type", "application/json");
  return httpRequest(apiPort, "POST", "/v1/notifications", jsonBody, all);
}

RawExchange rawExchange(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  int fd = connectLoopback(port);
  RawExchange result;
  try {
    sendAll(fd, bytes);
  } catch (const std::exception&) {
    // The server may close before reading everything; what it answered still counts.
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      result.closedByServer = true;
      break;
    }
    result.received.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return result;
}

std::string publishId(int apiPort, const std::string& channel, const std::string& dataJson,
                      const std::string& event) {
  nlohmann::json body = {{"channel", channel}, {"data", nlohmann::json::parse(dataJson)}};
  if (!event.empty()) {
    body["event"] = event;
  }
  auto response = publish(apiPort, body.dump());
  EXPECT_EQ(response.status, 200) << response.body;
  return response.status == 200 ? nlohmann::json::parse(response.body).value("id", "") : "";
}

SseClient::SseClient(int port, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers) {
  fd_ = connectLoopback(port);
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : headers) {
    request += name + ": " + value + "\r\n";
  }
  request += "\r\n";
  sendAll(fd_, request);
}

SseClient::~SseClient() {
  close();
}

void SseClient::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool SseClient::fill(std::chrono::steady_clock::time_point deadline) {
  if (closed_ || fd_ < 0) {
    return false;
  }
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) {
    return false;
  }
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
    return false;
  }
  char buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  if (headDone_) {
    body_.append(buf, static_cast<std::size_t>(n));
  } else {
    raw_.append(buf, static_cast<std::size_t>(n));
    auto headEnd = raw_.find("\r\n\r\n");
    if (headEnd != std::string::npos) {
      parseHead(raw_.substr(0, headEnd), status_, headers_);
      body_ = raw_.substr(headEnd + 4);
      headDone_ = true;
    }
  }
  return true;
}

int SseClient::readHead(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!headDone_) {
    if (!fill(deadline)) {
      return 0;
    }
  }
  return status_;
}

std::optional<SseEvent> SseClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!headDone_ && readHead(timeout) == 0) {
    return std::nullopt;
  }
  while (true) {
    // Parse complete blocks (ending in a blank line) like EventSource does.
    while (true) {
      auto end = body_.find("\n\n", parsed_);
      if (end == std::string::npos) {
        break;
      }
      std::string block = body_.substr(parsed_, end + 1 - parsed_);
      parsed_ = end + 2;
      SseEvent event;
      bool hasData = false;
      std::size_t pos = 0;
      while (pos < block.size()) {
        std::size_t eol = block.find('\n', pos);
        std::string line = block.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.empty() || line[0] == ':') {
          continue;
        }
        auto colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') {
          value.erase(0, 1);
        }
        if (field == "data") {
          event.data += (hasData ? "\n" : "") + value;
          hasData = true;
        } else if (field == "id") {
          event.id = value;
          event.hasId = true;
          lastEventId_ = value;
        } else if (field == "event") {
          event.event = value;
        } else if (field == "retry") {
          retry_ = std::stol(value);
        }
      }
      if (hasData) {
        return event;
      }
    }
    if (!fill(deadline)) {
      return std::nullopt;
    }
  }
}

std::vector<SseEvent> SseClient::take(std::size_t count, std::chrono::milliseconds timeout) {
  std::vector<SseEvent> events;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (events.size() < count) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto event = next(std::max(left, std::chrono::milliseconds(1)));
    if (!event) {
      ADD_FAILURE() << "got " << events.size() << " of " << count << " events; body so far:\n" << body_;
      break;
    }
    events.push_back(*event);
  }
  return events;
}

bool SseClient::readBody(std::size_t bytes, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!headDone_ && readHead(timeout) == 0) {
    return false;
  }
  while (body_.size() < bytes) {
    if (!fill(deadline)) {
      return false;
    }
  }
  return true;
}

bool SseClient::waitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    if (!fill(deadline) && !closed_) {
      return false;
    }
  }
  return true;
}

void publishNumbered(int apiPort, const std::string& channel, int first, int count,
                     const std::string& padding) {
  nlohmann::json items = nlohmann::json::array();
  for (int i = first; i < first + count; ++i) {
    items.push_back({{"channel", channel}, {"data", {{"n", i}, {"pad", padding}}}});
  }
  auto response =
      httpRequest(apiPort, "POST", "/v1/notifications/batch",
                  nlohmann::json({{"notifications", items}}).dump(), {{"Content-Type", "application/json"}});
  EXPECT_EQ(response.status, 200) << response.body;
}

double scrapeMetric(int apiPort, const std::string& name) {
  auto body = httpRequest(apiPort, "GET", "/metrics").body;
  auto at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(body.substr(at + name.size() + 2));
}

}  // namespace herald::test
