// ConnectionLimiter: --max-connections-per-ip, the count of open stream
// connections per client address, shared by all stream threads.
//
// Off by default: users behind one NAT or corporate proxy share an address, so
// a per-address cap is for deployments that know their clients. A connection
// takes a Slot when it is accepted and gives it back when the session ends
// (the Slot's destructor); a connection over the cap still gets its request
// read, so it can be answered `429` with `Retry-After` instead of a reset.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace herald {

class ConnectionLimiter {
 public:
  // 0 = no limit (nothing is counted).
  explicit ConnectionLimiter(std::size_t maxPerAddress) : maxPerAddress_(maxPerAddress) {}

  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();
    // False when the address already had its maximum when this slot was asked for.
    bool admitted() const { return admitted_; }

   private:
    friend class ConnectionLimiter;
    void release();
    ConnectionLimiter* limiter_ = nullptr;
    std::string address_;
    bool admitted_ = true;
  };

  // Counts a connection from `address`. Thread-safe.
  Slot acquire(const boost::asio::ip::address& address);
  std::size_t openFrom(const boost::asio::ip::address& address) const;

 private:
  void release(const std::string& address);
  static std::string keyOf(const boost::asio::ip::address& address);

  const std::size_t maxPerAddress_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;
};

}  // namespace herald
