#include "gateway/core/Notification.h"

#include <chrono>

namespace herald {

const char* toString(ResetReason reason) {
  switch (reason) {
    case ResetReason::truncated:
      return "truncated";
    case ResetReason::expired:
      return "expired";
    case ResetReason::lost:
      return "lost";
    case ResetReason::invalidCursor:
      return "invalid_cursor";
  }
  return "lost";
}

std::int64_t wallClockMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace herald
