// /metrics, /v1/stats and the pages on a real herald over real sockets: the
// contract's metrics with their exact names move as streams open, publishes
// fan out and requests are refused, and the exposition is valid text format
// (checked by a strict parser here; by `promtool check metrics` when installed).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/HeraldProcess.h"
#include "tests/support/SocketClients.h"

namespace herald::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* kOrigin = "http://127.0.0.1:9999";

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram
  std::vector<Sample> samples;

  double value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) {
        return s.value;
      }
    }
    ADD_FAILURE() << "no sample " << name;
    return NAN;
  }
};

// A strict reader of the Prometheus text format (0.0.4): every line is a comment, a
// HELP/TYPE line, or `name{labels} value`; every sample belongs to a family declared
// by TYPE before it; histograms have ascending, cumulative buckets ending in +Inf == _count.
Exposition parseExposition(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kSample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+))");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?)re");
  Exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) {
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      EXPECT_TRUE(std::regex_match(name, kName)) << line;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_EQ(out.types.count(name), 0u) << "family declared twice: " << name;
      out.types[name] = type;
      continue;
    }
    if (line[0] == '#') {
      continue;
    }
    std::smatch match;
    if (!std::regex_match(line, match, kSample)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    Sample sample{match[1], {}, 0};
    std::string labels = match[3];
    for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), end; it != end; ++it) {
      EXPECT_TRUE(sample.labels.emplace((*it)[1], (*it)[2]).second) << "duplicate label: " << line;
    }
    std::string value = match[4];
    sample.value = value == "+Inf" ? INFINITY : std::stod(value);
    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      std::string s(suffix);
      if (!out.types.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    EXPECT_TRUE(out.types.count(family)) << "sample before its TYPE: " << line;
    out.samples.push_back(std::move(sample));
  }
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") {
      continue;
    }
    double previousLe = -INFINITY, previousCount = 0, infCount = -1;
    for (const auto& s : out.samples) {
      if (s.name != family + "_bucket") {
        continue;
      }
      double le = s.labels.at("le") == "+Inf" ? INFINITY : std::stod(s.labels.at("le"));
      EXPECT_GT(le, previousLe) << family;
      EXPECT_GE(s.value, previousCount) << family << " buckets must be cumulative";
      previousLe = le;
      previousCount = s.value;
      if (std::isinf(le)) {
        infCount = s.value;
      }
    }
    EXPECT_EQ(infCount, out.value(family + "_count")) << family;
  }
  return out;
}

Exposition scrape(HeraldProcess& herald) {
  auto response = httpRequest(herald.apiPort(), "GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  return parseExposition(response.body);
}

TEST(Metrics, ContractMetricsMoveWithTraffic) {
  HeraldProcess herald({"--threads", "2"});
  Exposition before = scrape(herald);
  for (const char* name :
       {"herald_connections", "herald_connections_total", "herald_notifications_published_total",
        "herald_events_delivered_total", "herald_replayed_events_total", "herald_slow_clients_dropped_total",
        "herald_broker_reconnects_total", "herald_publish_duration_seconds", "herald_delivery_lag_seconds",
        "herald_broker_up", "herald_thread_connections", "herald_history_reads_total",
        "herald_rejected_requests_total", "herald_streams_drained_total", "herald_streams_shed_total",
        "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total"}) {
    EXPECT_TRUE(before.types.count(name)) << name;
  }
  EXPECT_EQ(before.types["herald_connections"], "gauge");
  EXPECT_EQ(before.types["herald_delivery_lag_seconds"], "histogram");
  EXPECT_EQ(before.types["herald_publish_duration_seconds"], "histogram");
  EXPECT_EQ(before.value("herald_broker_up"), 1);
  EXPECT_GT(before.value("process_resident_memory_bytes"), 0);
  EXPECT_GT(before.value("process_open_fds"), 0);
  EXPECT_EQ(before.value("herald_thread_connections", {{"thread", "1"}}), 0);

  SseClient a(herald.streamPort(), "/v1/events?channel=a");
  SseClient b(herald.streamPort(), "/v1/events?channel=b");
  ASSERT_EQ(a.readHead(), 200);
  ASSERT_EQ(b.readHead(), 200);
  ASSERT_TRUE(a.readBody(1, 5s));
  ASSERT_TRUE(b.readBody(1, 5s));
  // One publish to two channels is two notifications (CONTRACT: Counting).
  ASSERT_EQ(publish(herald.apiPort(), R"({"channels":["a","b"],"data":1})").status, 200);
  ASSERT_TRUE(a.next());
  ASSERT_TRUE(b.next());
  EXPECT_EQ(httpRequest(herald.apiPort(), "GET", "/v1/channels/a/notifications").status, 200);
  EXPECT_EQ(publish(herald.apiPort(), R"({"channel":"bad channel!","data":1})").status, 400);
  EXPECT_EQ(httpRequest(herald.streamPort(), "GET", "/nowhere").status, 404);

  Exposition after = scrape(herald);
  EXPECT_EQ(after.value("herald_connections"), 2);
  EXPECT_EQ(after.value("herald_thread_connections", {{"thread", "0"}}) +
                after.value("herald_thread_connections", {{"thread", "1"}}),
            2);
  EXPECT_EQ(after.value("herald_connections_total"), 2);
  EXPECT_EQ(after.value("herald_notifications_published_total"), 2);
  EXPECT_EQ(after.value("herald_events_delivered_total"), 2);
  EXPECT_EQ(after.value("herald_delivery_lag_seconds_count"), 2);
  EXPECT_EQ(after.value("herald_publish_duration_seconds_count"), 1);
  EXPECT_EQ(after.value("herald_history_reads_total"), 1);
  EXPECT_EQ(after.value("herald_rejected_requests_total", {{"code", "invalid_channel"}, {"listener", "api"}}),
            1);
  EXPECT_EQ(after.value("herald_rejected_requests_total", {{"code", "not_found"}, {"listener", "stream"}}),
            1);

  a.close();
  b.close();
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    closed = scrape(herald).value("herald_connections") == 0;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(closed) << "herald_connections counts open streams only";
}

TEST(Metrics, NoPerChannelLabels) {
  HeraldProcess herald;
  ASSERT_EQ(publish(herald.apiPort(), R"({"channel":"user:secret-42","data":1})").status, 200);
  auto body = httpRequest(herald.apiPort(), "GET", "/metrics").body;
  EXPECT_EQ(body.find("secret-42"), std::string::npos);
}

TEST(Metrics, PromtoolAcceptsTheExposition) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP()
        << "promtool is not installed (Debian package prometheus); the parser above checks the format";
  }
  HeraldProcess herald;
  std::string path = ::testing::TempDir() + "herald_metrics.txt";
  std::ofstream(path) << httpRequest(herald.apiPort(), "GET", "/metrics").body;
  EXPECT_EQ(std::system(("promtool check metrics < " + path).c_str()), 0);
}

TEST(Metrics, GrafanaDashboardUsesOnlyExportedMetrics) {
  HeraldProcess herald;
  Exposition exposition = scrape(herald);
  std::ifstream file(std::string(HERALD_SOURCE_DIR) + "/deploy/grafana/herald.json");
  std::string dashboard((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(dashboard.empty());
  static const std::regex kMetric("(herald|process)_[a-z_]+");
  std::set<std::string> used;
  for (std::sregex_iterator it(dashboard.begin(), dashboard.end(), kMetric), end; it != end; ++it) {
    used.insert(std::regex_replace(it->str(), std::regex("_bucket$"), ""));
  }
  EXPECT_GT(used.size(), 10u);
  for (const auto& name : used) {
    EXPECT_TRUE(exposition.types.count(name))
        << "the dashboard uses " << name << ", which herald does not export";
  }
}

TEST(Stats, JsonHasWhatTheStatusPageShows) {
  HeraldProcess herald;
  SseClient client(herald.streamPort(), "/v1/events?channel=s");
  ASSERT_EQ(client.readHead(), 200);
  ASSERT_TRUE(client.readBody(1, 5s));
  ASSERT_EQ(publish(herald.apiPort(), R"({"channel":"s","data":{"x":1}})").status, 200);
  ASSERT_TRUE(client.next());
  auto response = httpRequest(herald.apiPort(), "GET", "/v1/stats");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"], "application/json");
  auto stats = json::parse(response.body);
  EXPECT_EQ(stats["connections"], 1);
  EXPECT_TRUE(stats["connectionsByThread"].is_array());
  EXPECT_EQ(stats["totals"]["published"], 1);
  EXPECT_EQ(stats["totals"]["delivered"], 1);
  EXPECT_EQ(stats["broker"]["up"], true);
  EXPECT_EQ(stats["broker"]["name"], "memory");
  EXPECT_EQ(stats["deliveryLagSeconds"]["count"], 1);
  EXPECT_EQ(stats["deliveryLagSeconds"]["counts"].size(), stats["deliveryLagSeconds"]["bounds"].size() + 1);
  for (const char* q : {"p50", "p90", "p99"}) {
    EXPECT_TRUE(stats["deliveryLagSeconds"][q].is_number()) << q;
  }
  EXPECT_GT(stats["process"]["residentBytes"], 0);
}

TEST(Pages, DemoAndStatusPagesAreServedWithTheirAssets) {
  HeraldProcess herald;
  for (auto [path, type] : {std::pair{"/", "text/html"},
                            {"/status", "text/html"},
                            {"/assets/demo.js", "text/javascript"},
                            {"/assets/status.js", "text/javascript"},
                            {"/assets/herald.css", "text/css"}}) {
    auto response = httpRequest(herald.apiPort(), "GET", path);
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_EQ(response.headers["content-type"].rfind(type, 0), 0u) << path;
    EXPECT_GT(response.body.size(), 100u) << path;
    EXPECT_EQ(response.body.find("http://cdn"), std::string::npos) << "no CDN: " << path;
    EXPECT_EQ(response.body.find("https://"), std::string::npos) << "nothing from elsewhere: " << path;
  }
  auto config = json::parse(httpRequest(herald.apiPort(), "GET", "/v1/config").body);
  EXPECT_EQ(config["streamPort"], herald.streamPort());
  EXPECT_EQ(
      httpRequest(herald.apiPort(), "POST", "/status", "{}", {{"Content-Type", "application/json"}}).status,
      405);
}

TEST(Cors, StreamListenerAllowsConfiguredOriginsOnly) {
  HeraldProcess herald({"--cors-origin", kOrigin});
  SseClient allowed(herald.streamPort(), "/v1/events?channel=c", {{"Origin", kOrigin}});
  ASSERT_EQ(allowed.readHead(), 200);
  EXPECT_EQ(allowed.headers().at("access-control-allow-origin"), kOrigin);
  EXPECT_EQ(allowed.headers().at("access-control-allow-credentials"), "true");
  SseClient other(herald.streamPort(), "/v1/events?channel=c", {{"Origin", "http://evil.example"}});
  ASSERT_EQ(other.readHead(), 200);
  EXPECT_EQ(other.headers().count("access-control-allow-origin"), 0u);
}

}  // namespace
}  // namespace herald::test
