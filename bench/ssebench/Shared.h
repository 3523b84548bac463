// Shared: the run's options, its phases and the block of shared memory through
// which the coordinating parent (which also publishes) and the forked
// subscriber workers talk. Forking is how one run goes past the per-process
// descriptor limit; the block is mapped before the fork, fixed in size and
// holds only atomics and trivially copyable counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/ssebench/LatencyHistogram.h"

namespace ssebench {

constexpr int kMaxWorkers = 8;
constexpr int kMaxChannels = 20'000;

struct Url {
  std::string host = "127.0.0.1";
  int port = 80;
  std::string target = "/";  // path and query, with the {ch} token still in it
};
Url parseUrl(const std::string& url);  // http://host:port/target only; exits on anything else
// Replaces every `token` in text by value.
std::string substitute(std::string text, const std::string& token, const std::string& value);

struct Options {
  std::string subscribeUrl;
  int connections = 1000;
  int channels = 1;
  int workers = 0;  // 0: enough to keep each under kMaxConnectionsPerWorker
  int rampPerSecond = 5'000;
  int connectTimeoutSeconds = 30;
  std::string publishUrl;
  std::string publishBody = "{data}";
  std::vector<std::string> publishHeaders;
  double publishRate = 0;  // notifications per second, all channels together
  double publishSeconds = 0;
  int publishConnections = 4;
  int publishPipeline = 1;  // requests in flight per publish connection (1: closed loop)
  int graceSeconds = 10;
  int lateMs = 1000;         // a live event that takes longer than this is counted `late`
  int holdSeconds = 0;       // idle: how long connections are held before sampling
  int reconnectMissed = 0;   // > 0: disconnect all, publish this many per channel, reconnect all
  int sourceAddresses = 32;  // 127.0.0.2 .. 127.0.0.(1+n)
  int timeoutSeconds = 300;  // hard bound for the whole run
  std::vector<int> serverPids;
  std::string label;
  std::string out;
};

enum Phase : int { kConnect = 0, kPublish, kDrain, kDisconnect, kMiss, kReconnect, kStop };

struct WorkerSlot {
  std::atomic<int> ack{-1};  // the last phase this worker has completed
  std::uint64_t established = 0;
  std::uint64_t connectFailures = 0;
  std::uint64_t drops = 0;  // streams the server ended (or that failed) while they should be open
  std::uint64_t events = 0;
  std::uint64_t liveEvents = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t gaps = 0;
  std::uint64_t lost = 0;               // = lostFailedPublish + neverDelivered
  std::uint64_t lostFailedPublish = 0;  // missing because their publish failed (refused or unanswered)
  std::uint64_t neverDelivered = 0;     // published fine, never arrived
  std::uint64_t late = 0;               // arrived, but more than --late-ms after their publish
  std::uint64_t idRegressions = 0;
  std::uint64_t badPayloads = 0;
  std::uint64_t lastLiveEventUs = 0;
  std::uint64_t reconnectCaughtUp = 0;
  std::uint64_t reconnectFailures = 0;
  double cpuSeconds = 0;
  LatencyHistogram latency;  // publish -> receipt, live events
  LatencyHistogram resume;   // reconnect start -> caught up, per connection
};

struct Control {
  std::atomic<int> phase{kConnect};
  std::atomic<std::uint64_t> phaseStartUs{0};
  std::atomic<std::uint32_t> published[kMaxChannels];  // per channel: the highest seq published
  std::atomic<std::uint32_t> failed[kMaxChannels];     // per channel: publishes refused or unanswered
  WorkerSlot workers[kMaxWorkers];
};

std::uint64_t wallMicros();  // CLOCK_REALTIME: comparable across processes
double cpuSecondsSelf();

// The subscriber side of one worker process; returns its exit code.
int runWorker(const Options& options, Control& control, int index, int first, int count);

}  // namespace ssebench
