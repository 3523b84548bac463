#include "gateway/hub/Admission.h"

namespace herald {

Admission::Verdict Admission::tryAdmit() {
  if (draining()) {
    return Verdict::draining;
  }
  if (overloaded()) {
    return Verdict::overloaded;
  }
  std::int64_t now = open_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (maxConnections_ != 0 && now > static_cast<std::int64_t>(maxConnections_)) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::overCapacity;
  }
  return Verdict::admit;
}

const char* toString(Admission::Verdict verdict) {
  switch (verdict) {
    case Admission::Verdict::admit:
      return "admitted";
    case Admission::Verdict::overCapacity:
      return "over --max-connections";
    case Admission::Verdict::overloaded:
      return "overloaded";
    case Admission::Verdict::draining:
      return "draining";
  }
  return "unknown";
}

}  // namespace herald
