#include "gateway/metrics/ProcessStats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace herald {

namespace {

// Fields of /proc/self/stat after the command name, counted from 3 (proc(5)).
constexpr int kFieldUtime = 14;
constexpr int kFieldStime = 15;
constexpr int kFieldThreads = 20;
constexpr int kFieldStartTime = 22;
constexpr int kFieldVsize = 23;
constexpr int kFieldRss = 24;

double bootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime") {
      stat >> value;
      return value;
    }
    stat.ignore(1 << 16, '\n');
  }
  return 0;
}

}  // namespace

ProcessStats readProcessStats() {
  ProcessStats out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double pageSize = static_cast<double>(sysconf(_SC_PAGESIZE));

  std::ifstream statFile("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
  // The command name is in parentheses and may contain spaces: parse after the last ')'.
  if (auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int index = 3; fields >> field; ++index) {
      const double value = std::strtod(field.c_str(), nullptr);
      switch (index) {
        case kFieldUtime:
        case kFieldStime:
          out.cpuSeconds += value / ticks;
          break;
        case kFieldThreads:
          out.threads = value;
          break;
        case kFieldStartTime:
          out.startTimeSeconds = bootTimeSeconds() + value / ticks;
          break;
        case kFieldVsize:
          out.virtualBytes = value;
          break;
        case kFieldRss:
          out.residentBytes = value * pageSize;
          break;
        default:
          break;
      }
    }
  }

  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    out.openFds += 1;
  }
  if (out.openFds > 0) {
    out.openFds -= 1;  // the descriptor the listing itself held open
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.maxFds = static_cast<double>(limit.rlim_cur);
  }
  return out;
}

std::size_t readResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  if (!(statm >> pages >> resident)) {
    return 0;
  }
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace herald
