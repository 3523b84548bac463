// ProcessStats: this process's resource use read from /proc/self, for the
// standard process_* metrics (prometheus-cpp has no process collector).
#pragma once

#include <cstddef>
#include <cstdint>

namespace herald {

struct ProcessStats {
  double cpuSeconds = 0;  // user + system
  double residentBytes = 0;
  double virtualBytes = 0;
  double openFds = 0;
  double maxFds = 0;
  double startTimeSeconds = 0;  // since the epoch
  double threads = 0;
};

// Reads /proc/self; fields it cannot read stay 0.
ProcessStats readProcessStats();

// Only the resident set size in bytes (0 if unreadable): cheap enough for the
// load monitor's frequent ticks, which must not list every open descriptor.
std::size_t readResidentBytes();

}  // namespace herald
