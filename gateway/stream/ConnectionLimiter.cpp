#include "gateway/stream/ConnectionLimiter.h"

#include <utility>

namespace herald {

ConnectionLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      address_(std::move(other.address_)),
      admitted_(other.admitted_) {}

ConnectionLimiter::Slot& ConnectionLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    address_ = std::move(other.address_);
    admitted_ = other.admitted_;
  }
  return *this;
}

ConnectionLimiter::Slot::~Slot() {
  release();
}

void ConnectionLimiter::Slot::release() {
  if (limiter_ != nullptr) {
    limiter_->release(address_);
    limiter_ = nullptr;
  }
}

std::string ConnectionLimiter::keyOf(const boost::asio::ip::address& address) {
  // IPv4-mapped IPv6 (a dual-stack listener) and plain IPv4 are the same client.
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

ConnectionLimiter::Slot ConnectionLimiter::acquire(const boost::asio::ip::address& address) {
  Slot slot;
  if (maxPerAddress_ == 0) {
    return slot;
  }
  std::string key = keyOf(address);
  std::lock_guard lock(mutex_);
  std::size_t& open = open_[key];
  if (open >= maxPerAddress_) {
    if (open == 0) {
      open_.erase(key);
    }
    slot.admitted_ = false;
    return slot;
  }
  ++open;
  slot.limiter_ = this;
  slot.address_ = std::move(key);
  return slot;
}

std::size_t ConnectionLimiter::openFrom(const boost::asio::ip::address& address) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(keyOf(address));
  return it == open_.end() ? 0 : it->second;
}

void ConnectionLimiter::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(address);
  if (it != open_.end() && --it->second == 0) {
    open_.erase(it);  // the map holds only addresses with open connections
  }
}

}  // namespace herald
