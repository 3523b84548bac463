#include "gateway/metrics/Metrics.h"

#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "gateway/metrics/ProcessStats.h"

namespace herald {

namespace {

namespace prom = prometheus;

constexpr double kNanosPerSecond = 1e9;
// Percentiles the status page shows.
constexpr std::array<std::pair<const char*, double>, 3> kQuantiles = {
    {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}}};

prom::MetricFamily family(std::string name, std::string help, prom::MetricType type) {
  prom::MetricFamily out;
  out.name = std::move(name);
  out.help = std::move(help);
  out.type = type;
  return out;
}

prom::ClientMetric valueMetric(prom::MetricType type, double value,
                               std::vector<prom::ClientMetric::Label> labels = {}) {
  prom::ClientMetric metric;
  metric.label = std::move(labels);
  switch (type) {
    case prom::MetricType::Counter:
      metric.counter.value = value;
      break;
    case prom::MetricType::Gauge:
      metric.gauge.value = value;
      break;
    default:
      metric.untyped.value = value;
      break;
  }
  return metric;
}

prom::MetricFamily single(std::string name, std::string help, prom::MetricType type, double value) {
  auto out = family(std::move(name), std::move(help), type);
  out.metric.push_back(valueMetric(type, value));
  return out;
}

prom::MetricFamily histogramFamily(std::string name, std::string help, const HistogramSnapshot& snapshot) {
  auto out = family(std::move(name), std::move(help), prom::MetricType::Histogram);
  prom::ClientMetric metric;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < snapshot.counts.size(); ++i) {
    cumulative += snapshot.counts[i];
    prom::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound =
        i < snapshot.bounds.size() ? snapshot.bounds[i] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(bucket);
  }
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = snapshot.sumSeconds;
  out.metric.push_back(std::move(metric));
  return out;
}

// A prometheus-cpp histogram read back as a snapshot (for /v1/stats).
HistogramSnapshot snapshotOf(const prom::Registry& registry, const std::string& name) {
  HistogramSnapshot out;
  for (const auto& f : registry.Collect()) {
    if (f.name != name || f.metric.empty()) {
      continue;
    }
    const auto& histogram = f.metric.front().histogram;
    std::uint64_t previous = 0;
    for (const auto& bucket : histogram.bucket) {
      if (!std::isinf(bucket.upper_bound)) {
        out.bounds.push_back(bucket.upper_bound);
      }
      out.counts.push_back(bucket.cumulative_count - previous);
      previous = bucket.cumulative_count;
    }
    out.sumSeconds = histogram.sample_sum;
  }
  return out;
}

nlohmann::json histogramJson(const HistogramSnapshot& snapshot) {
  nlohmann::json out = {{"count", snapshot.count()},
                        {"sumSeconds", snapshot.sumSeconds},
                        {"bounds", snapshot.bounds},
                        {"counts", snapshot.counts}};
  for (const auto& [name, q] : kQuantiles) {
    out[name] = snapshot.quantile(q);
  }
  return out;
}

}  // namespace

Metrics::Metrics(RelaySource relay)
    : relay_(std::move(relay)),
      registry_(std::make_shared<prom::Registry>()),
      published_(prom::BuildCounter()
                     .Name("herald_notifications_published_total")
                     .Help("Notifications published (a publish to n channels counts n)")
                     .Register(*registry_)
                     .Add({})),
      publishDuration_(prom::BuildHistogram()
                           .Name("herald_publish_duration_seconds")
                           .Help("Time to store and publish an accepted publish request")
                           .Register(*registry_)
                           .Add({}, prom::Histogram::BucketBoundaries(kLatencyBucketsSeconds.begin(),
                                                                      kLatencyBucketsSeconds.end()))),
      historyReads_(prom::BuildCounter()
                        .Name("herald_history_reads_total")
                        .Help("History requests served (GET /v1/channels/<channel>/notifications)")
                        .Register(*registry_)
                        .Add({})) {}

void Metrics::observePublishDuration(std::chrono::nanoseconds took) {
  publishDuration_.Observe(static_cast<double>(took.count()) / kNanosPerSecond);
}

std::string Metrics::scrape() const {
  std::vector<prom::MetricFamily> families = registry_->Collect();
  using prom::MetricType;

  RelaySnapshot relay = relay_ ? relay_() : RelaySnapshot{};
  families.push_back(single("herald_connections", "Open SSE streams", MetricType::Gauge,
                            static_cast<double>(relay.connections())));
  auto perThread =
      family("herald_thread_connections", "Open SSE streams per stream thread", MetricType::Gauge);
  for (std::size_t i = 0; i < relay.connectionsByThread.size(); ++i) {
    perThread.metric.push_back(valueMetric(MetricType::Gauge,
                                           static_cast<double>(relay.connectionsByThread[i]),
                                           {{"thread", std::to_string(i)}}));
  }
  families.push_back(std::move(perThread));
  families.push_back(single("herald_connections_total", "SSE streams opened", MetricType::Counter,
                            static_cast<double>(relay.connectionsTotal)));
  families.push_back(single("herald_events_delivered_total",
                            "Events handed to SSE streams (live and replayed)", MetricType::Counter,
                            static_cast<double>(relay.eventsDelivered)));
  families.push_back(single("herald_replayed_events_total", "Events replayed to resuming streams",
                            MetricType::Counter, static_cast<double>(relay.eventsReplayed)));
  families.push_back(single("herald_slow_clients_dropped_total",
                            "Streams closed because their buffer passed --max-buffer", MetricType::Counter,
                            static_cast<double>(relay.slowClientsDropped)));
  families.push_back(single("herald_streams_drained_total", "Streams ended by the shutdown drain",
                            MetricType::Counter, static_cast<double>(relay.streamsDrained)));
  families.push_back(single("herald_streams_shed_total", "Streams ended or refused to shed load",
                            MetricType::Counter, static_cast<double>(relay.streamsShed)));
  families.push_back(single("herald_broker_up", "1 when the broker is reachable", MetricType::Gauge,
                            relay.brokerUp ? 1 : 0));
  families.push_back(single("herald_broker_reconnects_total", "Times the broker connection came back",
                            MetricType::Counter, static_cast<double>(relay.brokerReconnects)));
  families.push_back(histogramFamily("herald_delivery_lag_seconds",
                                     "Time from publish to the write of the event to a live stream",
                                     relay.deliveryLag));

  auto rejected = family("herald_rejected_requests_total",
                         "Requests answered with an error, by listener and code", MetricType::Counter);
  for (std::size_t i = 0; i < kErrorCodes.size(); ++i) {
    const std::string code(kErrorCodes[i]);
    rejected.metric.push_back(
        valueMetric(MetricType::Counter, static_cast<double>(apiRejected_[i].load(std::memory_order_relaxed)),
                    {{"code", code}, {"listener", "api"}}));
    const double stream =
        i < relay.streamRejectedByCode.size() ? static_cast<double>(relay.streamRejectedByCode[i]) : 0;
    rejected.metric.push_back(
        valueMetric(MetricType::Counter, stream, {{"code", code}, {"listener", "stream"}}));
  }
  families.push_back(std::move(rejected));

  ProcessStats process = readProcessStats();
  families.push_back(single("process_cpu_seconds_total", "User and system CPU time", MetricType::Counter,
                            process.cpuSeconds));
  families.push_back(
      single("process_resident_memory_bytes", "Resident memory", MetricType::Gauge, process.residentBytes));
  families.push_back(
      single("process_virtual_memory_bytes", "Virtual memory", MetricType::Gauge, process.virtualBytes));
  families.push_back(single("process_open_fds", "Open file descriptors", MetricType::Gauge, process.openFds));
  families.push_back(
      single("process_max_fds", "Limit of open file descriptors", MetricType::Gauge, process.maxFds));
  families.push_back(single("process_start_time_seconds", "Start time since the epoch", MetricType::Gauge,
                            process.startTimeSeconds));
  families.push_back(single("process_threads", "Threads", MetricType::Gauge, process.threads));
  families.push_back(single("herald_build_info", "Build information (always 1)", MetricType::Gauge, 1));
  families.back().metric.front().label = {{"version", HERALD_VERSION}};

  return prom::TextSerializer().Serialize(families);
}

std::string Metrics::statsJson() const {
  RelaySnapshot relay = relay_ ? relay_() : RelaySnapshot{};
  ProcessStats process = readProcessStats();
  nlohmann::json rejected = nlohmann::json::object();
  for (std::size_t i = 0; i < kErrorCodes.size(); ++i) {
    std::uint64_t count = apiRejected_[i].load(std::memory_order_relaxed);
    if (i < relay.streamRejectedByCode.size()) {
      count += relay.streamRejectedByCode[i];
    }
    if (count > 0) {
      rejected[std::string(kErrorCodes[i])] = count;
    }
  }
  nlohmann::json out = {
      {"version", HERALD_VERSION},
      {"uptimeSeconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
      {"connections", relay.connections()},
      {"connectionsByThread", relay.connectionsByThread},
      {"totals",
       {{"connections", relay.connectionsTotal},
        {"published", static_cast<std::uint64_t>(published_.Value())},
        {"delivered", relay.eventsDelivered},
        {"replayed", relay.eventsReplayed},
        {"slowClientsDropped", relay.slowClientsDropped},
        {"drained", relay.streamsDrained},
        {"shed", relay.streamsShed},
        {"historyReads", static_cast<std::uint64_t>(historyReads_.Value())},
        {"rejected", rejected}}},
      {"broker", {{"name", relay.broker}, {"up", relay.brokerUp}, {"reconnects", relay.brokerReconnects}}},
      {"deliveryLagSeconds", histogramJson(relay.deliveryLag)},
      {"publishDurationSeconds", histogramJson(snapshotOf(*registry_, "herald_publish_duration_seconds"))},
      {"process",
       {{"residentBytes", process.residentBytes},
        {"openFds", process.openFds},
        {"cpuSeconds", process.cpuSeconds}}}};
  return out.dump();
}

}  // namespace herald
