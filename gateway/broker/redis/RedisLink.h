// RedisLink: one connection to Redis on an Asio event loop Herald owns.
//
// TCP or TLS (asio::ssl over OpenSSL; the server certificate is always verified,
// by the configured CA or the system trust store, against --redis-tls-server-name
// or the URL's host). Before anything else it sends AUTH (user and password, or
// password) when there is a password, SELECT when the database is not 0, and a
// PING, so a refusal shows at connect time. Then commands are pipelined: any
// number in flight, replies matched to them in order, each with a deadline (a
// reply that does not come in time fails the connection, since every later
// reply would be matched to the wrong command). In push mode (pub/sub) no reply
// is matched: every reply goes to the push handler, which dispatches by kind.
// hiredis does only the protocol (redisReader parses, redisFormatCommandArgv
// encodes). Every method runs on the io_context's thread; a failed link stays
// closed (the owner makes a new one).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/broker/RedisUrl.h"
#include "gateway/broker/redis/RedisReply.h"

namespace herald {

// Where and how to connect: the parsed URL with its password resolved, TLS, and the timeout
// of connecting and of every command.
struct RedisEndpoint {
  RedisAddress address;
  RedisTlsSettings tls;
  std::chrono::milliseconds timeout{5000};
};

// One command in the wire format (hiredis's redisFormatCommandArgv).
std::string encodeCommand(const std::vector<std::string_view>& args);

class RedisLink : public std::enable_shared_from_this<RedisLink> {
 public:
  using Done = std::function<void(std::exception_ptr, Replies)>;
  using ConnectDone = std::function<void(std::exception_ptr)>;
  using PushHandler = std::function<void(ReplyPtr)>;
  using CloseHandler = std::function<void(std::exception_ptr)>;

  // `tls` is the shared client context, non-null for rediss://; it must outlive the link.
  static std::shared_ptr<RedisLink> create(boost::asio::io_context& io, const RedisEndpoint& endpoint,
                                           boost::asio::ssl::context* tls);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Connects, handshakes and authenticates; `done(nullptr)` once commands can be sent, or the
  // failure (RedisRefused when Redis answered and refused). Called once per link.
  void connect(ConnectDone done);
  // Sends encoded commands back to back; `done` gets their replies (error replies included) in
  // order, or the exception that closed the link. Never called before this returns.
  void execute(std::vector<std::string> commands, Done done);
  // Sends a command whose reply goes to the push handler (SUBSCRIBE, PING in pub/sub).
  void send(std::string command);
  // From now on every reply goes to `handler` (call with nothing in flight).
  void enterPushMode(PushHandler handler);
  // Called once when the link closes for any reason other than close() by its owner.
  void onClose(CloseHandler handler) { closeHandler_ = std::move(handler); }
  // Closes the link; what is in flight fails with `reason`.
  void close(std::exception_ptr reason);

  bool isOpen() const { return state_ == State::open; }
  std::size_t inFlight() const { return pending_.size(); }
  // When bytes last arrived (liveness: any traffic counts). Any thread.
  std::chrono::steady_clock::time_point lastRead() const { return lastRead_.load(); }

 private:
  enum class State { idle, connecting, open, closed };
  struct Pending {
    std::size_t expected;
    Replies replies;
    Done done;
    std::chrono::steady_clock::time_point deadline;
  };
  struct ReaderDeleter {
    void operator()(redisReader* reader) const { redisReaderFree(reader); }
  };

  RedisLink(boost::asio::io_context& io, const RedisEndpoint& endpoint, boost::asio::ssl::context* tls);
  void onTransport();
  void queue(std::vector<std::string> commands, Done done);
  void writeMore();
  void readMore();
  void onData(std::size_t bytes);
  void dispatch(ReplyPtr reply);
  void armTimer();
  void fail(std::exception_ptr reason, bool notify = true);
  std::exception_ptr ioError(const boost::system::error_code& error, std::string_view what) const;

  boost::asio::io_context& io_;
  const RedisEndpoint endpoint_;
  boost::asio::ssl::context* tlsContext_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer connectTimer_;
  boost::asio::steady_timer commandTimer_;
  bool timerArmed_ = false;
  State state_ = State::idle;
  ConnectDone connectDone_;
  PushHandler pushHandler_;
  CloseHandler closeHandler_;
  std::unique_ptr<redisReader, ReaderDeleter> reader_;
  std::deque<Pending> pending_;
  std::string outBuffer_;
  std::string writeBuffer_;
  bool writing_ = false;
  static constexpr std::size_t kReadChunk = 16 * 1024;
  std::array<char, kReadChunk> readBuffer_{};
  std::atomic<std::chrono::steady_clock::time_point> lastRead_{};
};

}  // namespace herald
