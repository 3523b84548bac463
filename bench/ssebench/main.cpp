// ssebench: Herald's load generator for SSE servers (Herald, Nchan, any
// EventSource endpoint) on loopback. See bench/README.md for the scenarios.
//
//   ssebench --url 'http://127.0.0.1:8080/v1/events?channel=c{ch}' --connections 10000 --channels 1
//            --publish-url http://127.0.0.1:8081/v1/notifications
//            --publish-body '{"channel":"c{ch}","data":{data}}' --publish-rate 5 --publish-seconds 10
//
// Phases: connect (ramped) -> publish at a fixed rate -> drain (until every
// stream has every event, at most --grace s) -> optionally disconnect all,
// publish --reconnect-missed per channel, reconnect all at once with
// Last-Event-ID -> stop. Writes one JSON object. Everything is bounded: the
// connection count, each phase's time and the whole run (--timeout).
//
// `lost` (events published on a subscriber's channel it never received) is split
// in `lost_split`: `failed_publish` (their publish was refused or never answered,
// so the server may rightly not have them) and `never_delivered` (published fine,
// never arrived). `late` counts live events that arrived more than --late-ms
// (default 1000) after their publish: delivered, but too late to call live.
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <new>
#include <sstream>
#include <thread>

#include "bench/ssebench/Publisher.h"
#include "bench/ssebench/Shared.h"

namespace ssebench {

namespace {
constexpr int kMaxConnectionsPerWorker = 9'500;  // well under the ~20k descriptors per process
constexpr auto kPollInterval = std::chrono::milliseconds(5);

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "ssebench: %s (see the header of bench/ssebench/main.cpp)\n", why.c_str());
  std::exit(2);
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      usage("missing value for " + flag);
    }
    std::string v = argv[++i];
    if (flag == "--url")
      o.subscribeUrl = v;
    else if (flag == "--connections")
      o.connections = std::stoi(v);
    else if (flag == "--channels")
      o.channels = std::stoi(v);
    else if (flag == "--workers")
      o.workers = std::stoi(v);
    else if (flag == "--ramp")
      o.rampPerSecond = std::stoi(v);
    else if (flag == "--connect-timeout")
      o.connectTimeoutSeconds = std::stoi(v);
    else if (flag == "--publish-url")
      o.publishUrl = v;
    else if (flag == "--publish-body")
      o.publishBody = v;
    else if (flag == "--publish-header")
      o.publishHeaders.push_back(v);
    else if (flag == "--publish-rate")
      o.publishRate = std::stod(v);
    else if (flag == "--publish-seconds")
      o.publishSeconds = std::stod(v);
    else if (flag == "--publish-connections")
      o.publishConnections = std::stoi(v);
    else if (flag == "--publish-pipeline")
      o.publishPipeline = std::stoi(v);
    else if (flag == "--late-ms")
      o.lateMs = std::stoi(v);
    else if (flag == "--grace")
      o.graceSeconds = std::stoi(v);
    else if (flag == "--hold")
      o.holdSeconds = std::stoi(v);
    else if (flag == "--reconnect-missed")
      o.reconnectMissed = std::stoi(v);
    else if (flag == "--source-addresses")
      o.sourceAddresses = std::stoi(v);
    else if (flag == "--timeout")
      o.timeoutSeconds = std::stoi(v);
    else if (flag == "--label")
      o.label = v;
    else if (flag == "--out")
      o.out = v;
    else if (flag == "--pids") {
      std::stringstream in(v);
      std::string pid;
      while (std::getline(in, pid, ',')) {
        if (!pid.empty())
          o.serverPids.push_back(std::stoi(pid));
      }
    } else {
      usage("unknown flag " + flag);
    }
  }
  if (o.subscribeUrl.empty())
    usage("--url is required");
  if (o.channels < 1 || o.channels > kMaxChannels)
    usage("--channels must be 1..20000");
  if (o.workers <= 0)
    o.workers = (o.connections + kMaxConnectionsPerWorker - 1) / kMaxConnectionsPerWorker;
  o.workers = std::clamp(o.workers, 1, kMaxWorkers);
  if (o.sourceAddresses < 1 || o.sourceAddresses > 250)
    usage("--source-addresses must be 1..250");
  if (o.publishRate > 0 && o.publishUrl.empty())
    usage("--publish-rate needs --publish-url");
  return o;
}

struct ServerSample {
  long rssKiB = 0;
  long pssKiB = 0;  // shared pages split between the processes sharing them (nginx workers)
  double cpuSeconds = 0;
};

ServerSample sampleServers(const std::vector<int>& pids) {
  ServerSample s;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int pid : pids) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0)
        s.rssKiB += std::strtol(line.c_str() + 6, nullptr, 10);
    }
    std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
    while (std::getline(rollup, line)) {
      if (line.rfind("Pss:", 0) == 0)
        s.pssKiB += std::strtol(line.c_str() + 4, nullptr, 10);
    }
    std::ifstream statFile("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
    auto paren = stat.rfind(')');
    if (paren == std::string::npos)
      continue;
    std::stringstream fields(stat.substr(paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14)
        utime = std::stoull(field);
      if (i == 15)
        stime = std::stoull(field);
    }
    s.cpuSeconds += static_cast<double>(utime + stime) / ticks;
  }
  return s;
}

// Moves every worker to `phase` and waits (at most `limit`) until all have done it.
bool advance(Control& control, const Options& o, Phase phase, std::chrono::milliseconds limit) {
  control.phaseStartUs.store(wallMicros());
  control.phase.store(phase, std::memory_order_release);
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    bool all = true;
    for (int w = 0; w < o.workers; ++w) all = all && control.workers[w].ack.load() >= phase;
    if (all)
      return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  return false;
}

double ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}
}  // namespace

int run(int argc, char** argv) {
  Options o = parseOptions(argc, argv);
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  alarm(static_cast<unsigned>(o.timeoutSeconds));  // the hard bound, whatever happens

  void* memory = mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED)
    usage("mmap failed");
  auto* control = new (memory) Control();
  const auto runStart = std::chrono::steady_clock::now();
  ServerSample before = sampleServers(o.serverPids);

  std::vector<pid_t> children;
  int per = (o.connections + o.workers - 1) / o.workers;
  for (int w = 0; w < o.workers; ++w) {
    int first = w * per;
    int count = std::max(0, std::min(per, o.connections - first));
    pid_t pid = fork();
    if (pid == 0) {
      _exit(runWorker(o, *control, w, first, count));
    }
    children.push_back(pid);
  }

  bool connected = advance(*control, o, kConnect, std::chrono::seconds(o.connectTimeoutSeconds));
  if (o.holdSeconds > 0)
    std::this_thread::sleep_for(std::chrono::seconds(o.holdSeconds));
  ServerSample held = sampleServers(o.serverPids);

  Publisher publisher(o, *control);
  std::uint64_t publishStartUs = wallMicros();
  auto toPublish = static_cast<std::uint64_t>(o.publishRate * o.publishSeconds);
  advance(*control, o, kPublish, std::chrono::milliseconds(0));
  if (toPublish > 0) {
    publisher.publish(toPublish, o.publishRate,
                      publishStartUs + static_cast<std::uint64_t>((o.publishSeconds + o.graceSeconds) * 1e6));
  }
  std::uint64_t publishEndUs = wallMicros();
  bool drained = advance(*control, o, kDrain, std::chrono::seconds(o.graceSeconds));
  std::uint64_t drainEndUs = wallMicros();
  ServerSample afterLive = sampleServers(o.serverPids);

  bool resumed = true;
  std::uint64_t reconnectStartUs = 0, reconnectEndUs = 0;
  if (o.reconnectMissed > 0) {
    advance(*control, o, kDisconnect, std::chrono::seconds(o.graceSeconds));
    advance(*control, o, kMiss, std::chrono::milliseconds(0));
    std::uint64_t missed =
        static_cast<std::uint64_t>(o.reconnectMissed) * static_cast<std::uint64_t>(o.channels);
    publisher.publish(missed, 0, wallMicros() + static_cast<std::uint64_t>(o.timeoutSeconds) * 500'000);
    reconnectStartUs = wallMicros();
    resumed = advance(*control, o, kReconnect, std::chrono::seconds(o.graceSeconds));
    reconnectEndUs = wallMicros();
  }
  ServerSample after = sampleServers(o.serverPids);
  advance(*control, o, kStop, std::chrono::seconds(10));
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  for (pid_t child : children) {
    waitpid(child, nullptr, 0);
  }

  WorkerSlot total;
  for (int w = 0; w < o.workers; ++w) {
    const WorkerSlot& s = control->workers[w];
    total.established += s.established;
    total.connectFailures += s.connectFailures;
    total.drops += s.drops;
    total.events += s.events;
    total.liveEvents += s.liveEvents;
    total.duplicates += s.duplicates;
    total.gaps += s.gaps;
    total.lost += s.lost;
    total.lostFailedPublish += s.lostFailedPublish;
    total.neverDelivered += s.neverDelivered;
    total.late += s.late;
    total.idRegressions += s.idRegressions;
    total.badPayloads += s.badPayloads;
    total.lastLiveEventUs = std::max(total.lastLiveEventUs, s.lastLiveEventUs);
    total.reconnectCaughtUp += s.reconnectCaughtUp;
    total.reconnectFailures += s.reconnectFailures;
    total.cpuSeconds += s.cpuSeconds;
    total.latency.merge(s.latency);
    total.resume.merge(s.resume);
  }
  double loadgenCpu = total.cpuSeconds + static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                      static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
  double window = total.lastLiveEventUs > publishStartUs
                      ? static_cast<double>(total.lastLiveEventUs - publishStartUs) / 1e6
                      : 0;
  double serverCpuLive = afterLive.cpuSeconds - held.cpuSeconds;
  char json[4096];
  std::snprintf(
      json, sizeof json,
      "{\"label\":\"%s\",\"connections\":%d,\"channels\":%d,\"workers\":%d,\"established\":%llu,"
      "\"connect_failures\":%llu,\"all_connected\":%s,\"drops\":%llu,"
      "\"publish_rate\":%.1f,\"published\":%llu,\"publish_errors\":%llu,\"publish_seconds\":%.3f,"
      "\"events\":%llu,\"live_events\":%llu,\"duplicates\":%llu,\"gaps\":%llu,\"lost\":%llu,"
      "\"lost_split\":{\"failed_publish\":%llu,\"never_delivered\":%llu},\"late\":%llu,\"late_ms\":%d,"
      "\"id_regressions\":%llu,\"bad_payloads\":%llu,\"drained\":%s,\"drain_seconds\":%.3f,"
      "\"deliveries_per_s\":%.1f,\"latency_ms\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
      "\"reconnect\":{\"missed_per_channel\":%d,\"caught_up\":%llu,\"failures\":%llu,\"all_resumed\":%s,"
      "\"seconds\":%.3f,\"p50_s\":%.3f,\"p99_s\":%.3f,\"max_s\":%.3f},"
      "\"server\":{\"rss_kib_before\":%ld,\"rss_kib_connected\":%ld,\"rss_kib_per_connection\":%.2f,"
      "\"pss_kib_per_connection\":%.2f,"
      "\"cpu_s_live\":%.3f,\"cpu_s_total\":%.3f,\"cpu_us_per_delivery\":%.3f},"
      "\"loadgen_cpu_s\":%.3f,\"wall_s\":%.3f}\n",
      o.label.c_str(), o.connections, o.channels, o.workers, (unsigned long long)total.established,
      (unsigned long long)total.connectFailures, connected ? "true" : "false",
      (unsigned long long)total.drops, o.publishRate, (unsigned long long)publisher.sent(),
      (unsigned long long)publisher.errors(), static_cast<double>(publishEndUs - publishStartUs) / 1e6,
      (unsigned long long)total.events, (unsigned long long)total.liveEvents,
      (unsigned long long)total.duplicates, (unsigned long long)total.gaps, (unsigned long long)total.lost,
      (unsigned long long)total.lostFailedPublish, (unsigned long long)total.neverDelivered,
      (unsigned long long)total.late, o.lateMs, (unsigned long long)total.idRegressions,
      (unsigned long long)total.badPayloads, drained ? "true" : "false",
      static_cast<double>(drainEndUs - publishEndUs) / 1e6,
      window > 0 ? static_cast<double>(total.liveEvents) / window : 0, ms(total.latency.quantileMicros(0.5)),
      ms(total.latency.quantileMicros(0.99)), ms(total.latency.quantileMicros(0.999)),
      ms(total.latency.maxMicros()), o.reconnectMissed, (unsigned long long)total.reconnectCaughtUp,
      (unsigned long long)total.reconnectFailures, resumed ? "true" : "false",
      static_cast<double>(reconnectEndUs - reconnectStartUs) / 1e6,
      ms(total.resume.quantileMicros(0.5)) / 1000, ms(total.resume.quantileMicros(0.99)) / 1000,
      ms(total.resume.maxMicros()) / 1000, before.rssKiB, held.rssKiB,
      total.established > 0
          ? static_cast<double>(held.rssKiB - before.rssKiB) / static_cast<double>(total.established)
          : 0,
      total.established > 0
          ? static_cast<double>(held.pssKiB - before.pssKiB) / static_cast<double>(total.established)
          : 0,
      serverCpuLive, after.cpuSeconds - before.cpuSeconds,
      total.liveEvents > 0 ? serverCpuLive * 1e6 / static_cast<double>(total.liveEvents) : 0, loadgenCpu,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runStart).count());
  if (o.out.empty()) {
    std::fputs(json, stdout);
  } else {
    std::ofstream(o.out) << json;
  }
  return 0;
}

std::uint64_t wallMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000;
}

double cpuSecondsSelf() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

Url parseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0)
    usage("only http:// URLs: " + url);
  Url u;
  auto slash = url.find('/', kScheme.size());
  std::string authority = url.substr(kScheme.size(), slash - kScheme.size());
  u.target = slash == std::string::npos ? "/" : url.substr(slash);
  auto colon = authority.find(':');
  u.host = authority.substr(0, colon);
  u.port = colon == std::string::npos ? 80 : std::stoi(authority.substr(colon + 1));
  if (u.host.rfind("127.", 0) != 0)
    usage("loopback (127.0.0.0/8) addresses only: " + url);
  return u;
}

std::string substitute(std::string text, const std::string& token, const std::string& value) {
  for (auto at = text.find(token); at != std::string::npos; at = text.find(token, at + value.size())) {
    text.replace(at, token.size(), value);
  }
  return text;
}

}  // namespace ssebench

int main(int argc, char** argv) {
  return ssebench::run(argc, argv);
}
