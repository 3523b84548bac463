// ApiKeyRing: the publisher API keys in use, shared by the api's worker threads.
//
// The keys are --api-key plus the lines of --api-key-file (they add up). The file
// is re-read on SIGHUP (reload()), so keys rotate without a restart; a reload swaps
// the whole set at once, and requests already checking keep the set they started
// with. Keys are compared in constant time and never logged.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/Config.h"

namespace herald {

class ApiKeyRing {
 public:
  // Reads --api-key-file now; throws std::runtime_error naming the file if it cannot.
  explicit ApiKeyRing(const Config& config);

  // True once any key source is configured (then every publisher needs a key).
  bool configured() const { return configured_; }
  // Does this `Authorization` header carry one of the keys as a Bearer token?
  bool accepts(std::string_view authorization) const { return scopeOf(authorization).has_value(); }
  // For an accepted key, a short digest naming it (never the key): Idempotency-Keys are
  // scoped by it, so two backends with different keys cannot collide. nullopt: not accepted.
  std::optional<std::string> scopeOf(std::string_view authorization) const;
  // Re-reads --api-key-file. When it cannot be read the keys stay as they were and the
  // error is logged; returns whether the keys were replaced.
  bool reload();

 private:
  std::shared_ptr<const std::vector<std::string>> current() const;

  const Config& config_;
  const bool configured_;
  mutable std::mutex mutex_;
  std::shared_ptr<const std::vector<std::string>> keys_;
};

}  // namespace herald
