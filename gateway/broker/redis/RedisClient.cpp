#include "gateway/broker/redis/RedisClient.h"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <random>

namespace herald {

namespace asio = boost::asio;

std::chrono::milliseconds RedisBackoff::next() {
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> spread(0, delay_.count() / 2);
  const auto delay = delay_ - std::chrono::milliseconds(spread(random));
  delay_ = std::min(delay_ * 2, kMax);
  return delay;
}

std::unique_ptr<asio::ssl::context> makeRedisTlsContext(const RedisTlsSettings& settings) {
  auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  try {
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    context->set_verify_mode(asio::ssl::verify_peer);
    if (settings.caFile.empty()) {
      context->set_default_verify_paths();
    } else {
      context->load_verify_file(settings.caFile);
    }
  } catch (const boost::system::system_error& error) {
    throw RedisRefused("--redis-tls-ca: cannot load '" + settings.caFile + "': " + error.what());
  }
  if (!settings.certFile.empty()) {
    try {
      context->use_certificate_chain_file(settings.certFile);
      context->use_private_key_file(settings.keyFile, asio::ssl::context::pem);
    } catch (const boost::system::system_error& error) {
      throw RedisRefused("--redis-tls-cert/--redis-tls-key: cannot load '" + settings.certFile + "' and '" +
                         settings.keyFile + "': " + error.what());
    }
  }
  return context;
}

RedisClient::RedisClient(RedisEndpoint endpoint, std::size_t connections)
    : endpoint_(std::move(endpoint)), slots_(std::max<std::size_t>(connections, 1)) {
  if (endpoint_.address.tls) {
    tls_ = makeRedisTlsContext(endpoint_.tls);
  }
  firstFuture_ = firstPromise_.get_future().share();
}

RedisClient::~RedisClient() {
  stop();
}

void RedisClient::start() {
  if (running_.exchange(true)) {
    return;
  }
  stopping_.store(false);
  io_.restart();
  work_.emplace(io_.get_executor());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].retry = std::make_unique<asio::steady_timer>(io_);
    asio::post(io_, [this, i] { connectSlot(i); });
  }
  thread_ = std::thread([this] { io_.run(); });
}

void RedisClient::stop() {
  if (!running_.exchange(false)) {
    return;
  }
  stopping_.store(true);
  asio::post(io_, [this] {
    auto reason = std::make_exception_ptr(RedisError("Redis client stopped"));
    for (auto& slot : slots_) {
      slot.retry->cancel();
      if (slot.link) {
        slot.link->close(reason);
        slot.link.reset();
      }
      slot.open = false;
    }
    openLinks_.store(0);
    work_.reset();
  });
  if (thread_.joinable()) {
    thread_.join();
  }
  // Links that others (the subscriber) still hold are closed by them; run what they posted.
  io_.restart();
  io_.poll();
}

void RedisClient::connectSlot(std::size_t index) {
  if (stopping_.load()) {
    return;
  }
  auto link = makeLink();
  slots_[index].link = link;
  link->connect([this, index, link](std::exception_ptr error) {
    Slot& slot = slots_[index];
    if (slot.link != link) {
      return;
    }
    {
      std::lock_guard lock(firstMutex_);
      if (!firstSet_) {
        firstSet_ = true;
        firstPromise_.set_value(error);
      }
    }
    if (error) {
      onSlotDown(index, error);
      return;
    }
    slot.open = true;
    openLinks_.fetch_add(1);
    slot.backoff.reset();
    if (!slot.lastFailure.empty()) {
      spdlog::info("redis connection {} to {} is back", index, endpoint_.address.str());
      slot.lastFailure.clear();
    }
    link->onClose([this, index, link](std::exception_ptr reason) {
      if (slots_[index].link == link) {
        slots_[index].open = false;
        openLinks_.fetch_sub(1);
        onSlotDown(index, reason);
      }
    });
  });
}

void RedisClient::onSlotDown(std::size_t index, const std::exception_ptr& reason) {
  Slot& slot = slots_[index];
  slot.link.reset();
  if (stopping_.load()) {
    return;
  }
  std::string why = "unknown failure";
  try {
    std::rethrow_exception(reason);
  } catch (const std::exception& error) {
    why = error.what();
  } catch (...) {
  }
  if (why != slot.lastFailure) {
    spdlog::warn("redis connection {} to {} failed: {}; reconnecting with backoff", index,
                 endpoint_.address.str(), why);
    slot.lastFailure = why;
  }
  slot.retry->expires_after(slot.backoff.next());
  slot.retry->async_wait([this, index](const boost::system::error_code& error) {
    if (!error) {
      connectSlot(index);
    }
  });
}

std::shared_ptr<RedisLink> RedisClient::makeLink() {
  return RedisLink::create(io_, endpoint_, tls_.get());
}

void RedisClient::execute(std::vector<std::string> commands, RedisLink::Done done) {
  if (!running_.load()) {
    // No loop to answer on: answer here, so every caller hears back exactly once.
    done(std::make_exception_ptr(
             RedisError("Redis " + endpoint_.address.str() + ": the broker is not running")),
         {});
    return;
  }
  asio::post(io_, [this, commands = std::move(commands), done = std::move(done)]() mutable {
    Slot* best = nullptr;
    // The open connection with the fewest commands in flight; ties go round-robin.
    for (std::size_t n = 0; n < slots_.size(); ++n) {
      Slot& slot = slots_[(nextSlot_ + n) % slots_.size()];
      if (slot.open && slot.link && (best == nullptr || slot.link->inFlight() < best->link->inFlight())) {
        best = &slot;
      }
    }
    nextSlot_ = (nextSlot_ + 1) % slots_.size();
    if (best == nullptr) {
      std::string why;
      for (const auto& slot : slots_) {
        if (!slot.lastFailure.empty()) {
          why = ": " + slot.lastFailure;
          break;
        }
      }
      done(
          std::make_exception_ptr(RedisError("Redis " + endpoint_.address.str() + " is not connected" + why)),
          {});
      return;
    }
    best->link->execute(std::move(commands), std::move(done));
  });
}

Replies RedisClient::run(std::vector<std::string> commands) {
  if (!running_.load()) {
    throw RedisError("Redis client is not running");
  }
  auto promise = std::make_shared<std::promise<Replies>>();
  auto future = promise->get_future();
  execute(std::move(commands), [promise](std::exception_ptr error, Replies replies) {
    if (error) {
      promise->set_exception(error);
    } else {
      promise->set_value(std::move(replies));
    }
  });
  // Every command has its own deadline on the link; this only guards against a stopped loop.
  if (future.wait_for(endpoint_.timeout * 2 + std::chrono::seconds(1)) != std::future_status::ready) {
    throw RedisError("Redis " + endpoint_.address.str() + ": no answer within " +
                     std::to_string(endpoint_.timeout.count()) + " ms");
  }
  return future.get();
}

std::exception_ptr RedisClient::firstAttempt(std::chrono::milliseconds wait) {
  if (firstFuture_.wait_for(wait) != std::future_status::ready) {
    return nullptr;
  }
  return firstFuture_.get();
}

}  // namespace herald
