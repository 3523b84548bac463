#include "gateway/broker/redis/RedisLink.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace herald {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::string encodeCommand(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* encoded = nullptr;
  const int length =
      redisFormatCommandArgv(&encoded, static_cast<int>(argv.size()), argv.data(), lengths.data());
  if (length < 0 || encoded == nullptr) {
    throw RedisError("cannot encode a Redis command");
  }
  std::string command(encoded, static_cast<std::size_t>(length));
  redisFreeCommand(encoded);
  return command;
}

std::shared_ptr<RedisLink> RedisLink::create(asio::io_context& io, const RedisEndpoint& endpoint,
                                             asio::ssl::context* tls) {
  return std::shared_ptr<RedisLink>(new RedisLink(io, endpoint, tls));
}

RedisLink::RedisLink(asio::io_context& io, const RedisEndpoint& endpoint, asio::ssl::context* tls)
    : io_(io),
      endpoint_(endpoint),
      tlsContext_(tls),
      resolver_(io),
      socket_(io),
      connectTimer_(io),
      commandTimer_(io),
      reader_(redisReaderCreate()) {
  if (!reader_) {
    throw RedisError("cannot allocate a Redis reply reader");
  }
}

RedisLink::~RedisLink() = default;

std::exception_ptr RedisLink::ioError(const boost::system::error_code& error, std::string_view what) const {
  const std::string message =
      "Redis " + endpoint_.address.str() + ": " + std::string(what) + ": " + error.message();
  // A TLS failure while connecting (a certificate that does not verify, a refused client
  // certificate, a server that does not speak TLS) is a configuration error, not an outage.
  if (state_ == State::connecting && error.category() == asio::error::get_ssl_category()) {
    return std::make_exception_ptr(RedisRefused(message));
  }
  return std::make_exception_ptr(RedisError(message));
}

void RedisLink::connect(ConnectDone done) {
  state_ = State::connecting;
  connectDone_ = std::move(done);
  auto self = shared_from_this();
  connectTimer_.expires_after(endpoint_.timeout);
  connectTimer_.async_wait([self](const boost::system::error_code& error) {
    if (!error && self->state_ == State::connecting) {
      self->fail(std::make_exception_ptr(
          RedisError("Redis " + self->endpoint_.address.str() + ": no connection within " +
                     std::to_string(self->endpoint_.timeout.count()) + " ms")));
    }
  });
  resolver_.async_resolve(
      endpoint_.address.host, std::to_string(endpoint_.address.port),
      [self](const boost::system::error_code& error, const tcp::resolver::results_type& results) {
        if (self->state_ != State::connecting) {
          return;
        }
        if (error) {
          self->fail(self->ioError(error, "cannot resolve the host"));
          return;
        }
        asio::async_connect(
            self->socket_, results, [self](const boost::system::error_code& error, const tcp::endpoint&) {
              if (self->state_ != State::connecting) {
                return;
              }
              if (error) {
                self->fail(self->ioError(error, "cannot connect"));
                return;
              }
              boost::system::error_code ignored;
              self->socket_.set_option(tcp::no_delay(true), ignored);
              if (self->tlsContext_ == nullptr) {
                self->onTransport();
                return;
              }
              const RedisAddress& address = self->endpoint_.address;
              const std::string& name =
                  self->endpoint_.tls.serverName.empty() ? address.host : self->endpoint_.tls.serverName;
              self->tls_ =
                  std::make_unique<asio::ssl::stream<tcp::socket&>>(self->socket_, *self->tlsContext_);
              // SNI only for names: RFC 6066 does not allow an IP address there.
              boost::system::error_code notAnAddress;
              asio::ip::make_address(name, notAnAddress);
              if (notAnAddress) {
                SSL_set_tlsext_host_name(self->tls_->native_handle(), name.c_str());
              }
              self->tls_->set_verify_mode(asio::ssl::verify_peer);
              self->tls_->set_verify_callback(asio::ssl::host_name_verification(name));
              self->tls_->async_handshake(asio::ssl::stream_base::client,
                                          [self](const boost::system::error_code& error) {
                                            if (self->state_ != State::connecting) {
                                              return;
                                            }
                                            if (error) {
                                              self->fail(self->ioError(error, "TLS handshake failed"));
                                              return;
                                            }
                                            self->onTransport();
                                          });
            });
      });
}

void RedisLink::onTransport() {
  readMore();
  // AUTH and SELECT before anything else; PING last, so a Redis that needs a password we do
  // not have says NOAUTH now rather than on the first publish.
  const RedisAddress& address = endpoint_.address;
  std::vector<std::string> handshake;
  std::vector<std::string> names;
  if (!address.password.empty()) {
    handshake.push_back(address.user.empty() ? encodeCommand({"AUTH", address.password})
                                             : encodeCommand({"AUTH", address.user, address.password}));
    names.push_back(address.user.empty() ? "AUTH" : "AUTH as user '" + address.user + "'");
  }
  if (address.db != 0) {
    const std::string db = std::to_string(address.db);
    handshake.push_back(encodeCommand({"SELECT", db}));
    names.push_back("SELECT " + db);
  }
  handshake.push_back(encodeCommand({"PING"}));
  names.push_back("PING");
  auto self = shared_from_this();
  queue(std::move(handshake), [self, names](std::exception_ptr error, Replies replies) {
    if (self->state_ != State::connecting) {
      return;
    }
    if (!error) {
      try {
        for (std::size_t i = 0; i < replies.size(); ++i) {
          if (replies[i]->type == REDIS_REPLY_ERROR) {
            // An error at this stage is a refusal (wrong credentials, a database the user may
            // not select, a command the ACL forbids) unless Redis is only busy starting up.
            const std::string_view text = replyText(*replies[i]);
            if (isTransient(text)) {
              throw RedisError("Redis " + self->endpoint_.address.str() +
                               " is not ready: " + std::string(text));
            }
            throw RedisRefused("Redis " + self->endpoint_.address.str() + " refused " + names[i] + ": " +
                               std::string(replyText(*replies[i])));
          }
        }
      } catch (const RedisError&) {
        error = std::current_exception();
      }
    }
    if (error) {
      self->fail(error);
      return;
    }
    self->state_ = State::open;
    self->connectTimer_.cancel();
    auto done = std::exchange(self->connectDone_, nullptr);
    done(nullptr);
  });
}

void RedisLink::execute(std::vector<std::string> commands, Done done) {
  if (state_ != State::open) {
    auto reason = std::make_exception_ptr(RedisError("Redis " + endpoint_.address.str() + ": not connected"));
    asio::post(io_, [done = std::move(done), reason] { done(reason, {}); });
    return;
  }
  queue(std::move(commands), std::move(done));
}

void RedisLink::send(std::string command) {
  if (state_ != State::open) {
    return;  // the close handler has run or will: the owner starts over
  }
  outBuffer_ += command;
  writeMore();
}

void RedisLink::enterPushMode(PushHandler handler) {
  pushHandler_ = std::move(handler);
}

void RedisLink::queue(std::vector<std::string> commands, Done done) {
  for (const auto& command : commands) {
    outBuffer_ += command;
  }
  pending_.push_back(Pending{commands.size(), {}, std::move(done), Clock::now() + endpoint_.timeout});
  armTimer();
  writeMore();
}

void RedisLink::writeMore() {
  if (writing_ || outBuffer_.empty() || state_ == State::closed) {
    return;
  }
  writing_ = true;
  writeBuffer_.swap(outBuffer_);
  auto self = shared_from_this();
  auto handler = [self](const boost::system::error_code& error, std::size_t) {
    self->writing_ = false;
    self->writeBuffer_.clear();
    if (self->state_ == State::closed) {
      return;
    }
    if (error) {
      self->fail(self->ioError(error, "write failed"));
      return;
    }
    self->writeMore();
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(writeBuffer_), handler);
  } else {
    asio::async_write(socket_, asio::buffer(writeBuffer_), handler);
  }
}

void RedisLink::readMore() {
  auto self = shared_from_this();
  auto handler = [self](const boost::system::error_code& error, std::size_t bytes) {
    if (self->state_ == State::closed) {
      return;
    }
    if (error) {
      self->fail(
          self->ioError(error, error == asio::error::eof ? "connection closed by Redis" : "read failed"));
      return;
    }
    self->onData(bytes);
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(readBuffer_), handler);
  } else {
    socket_.async_read_some(asio::buffer(readBuffer_), handler);
  }
}

void RedisLink::onData(std::size_t bytes) {
  lastRead_.store(Clock::now());
  if (redisReaderFeed(reader_.get(), readBuffer_.data(), bytes) != REDIS_OK) {
    fail(std::make_exception_ptr(RedisError("Redis " + endpoint_.address.str() + ": cannot buffer a reply")));
    return;
  }
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
      fail(std::make_exception_ptr(
          RedisError("Redis " + endpoint_.address.str() + ": protocol error: " + reader_->errstr)));
      return;
    }
    if (raw == nullptr) {
      break;
    }
    dispatch(ReplyPtr(static_cast<redisReply*>(raw)));
    if (state_ == State::closed) {
      return;  // a handler closed the link
    }
  }
  readMore();
}

void RedisLink::dispatch(ReplyPtr reply) {
  if (pushHandler_ && pending_.empty()) {
    pushHandler_(std::move(reply));
    return;
  }
  if (pending_.empty()) {
    fail(std::make_exception_ptr(RedisError("Redis " + endpoint_.address.str() + ": a reply to no command")));
    return;
  }
  Pending& front = pending_.front();
  front.replies.push_back(std::move(reply));
  if (front.replies.size() < front.expected) {
    return;
  }
  Pending done = std::move(front);
  pending_.pop_front();
  done.done(nullptr, std::move(done.replies));
}

void RedisLink::armTimer() {
  if (timerArmed_ || pending_.empty()) {
    return;
  }
  timerArmed_ = true;
  commandTimer_.expires_at(pending_.front().deadline);
  auto self = shared_from_this();
  commandTimer_.async_wait([self](const boost::system::error_code& error) {
    self->timerArmed_ = false;
    if (error || self->state_ == State::closed) {
      return;
    }
    if (!self->pending_.empty() && self->pending_.front().deadline <= Clock::now()) {
      self->fail(
          std::make_exception_ptr(RedisError("Redis " + self->endpoint_.address.str() + ": no reply within " +
                                             std::to_string(self->endpoint_.timeout.count()) + " ms")));
      return;
    }
    self->armTimer();
  });
}

void RedisLink::close(std::exception_ptr reason) {
  fail(std::move(reason), false);
}

void RedisLink::fail(std::exception_ptr reason, bool notify) {
  if (state_ == State::closed) {
    return;
  }
  const bool wasConnecting = state_ == State::connecting;
  state_ = State::closed;
  boost::system::error_code ignored;
  connectTimer_.cancel();
  commandTimer_.cancel();
  resolver_.cancel();
  socket_.close(ignored);
  auto pending = std::exchange(pending_, {});
  for (auto& command : pending) {
    command.done(reason, {});
  }
  // Taken out whether or not it is called: a handler may hold this link (RedisClient's
  // does), and a closed link must not keep itself alive through it.
  auto handler = std::exchange(closeHandler_, nullptr);
  if (wasConnecting && connectDone_) {
    auto done = std::exchange(connectDone_, nullptr);
    done(reason);
    return;
  }
  if (notify && handler) {
    handler(reason);
  }
}

}  // namespace herald
