// Logging: `--log-format json` gives one valid JSON object per line, whatever the message holds.
#include "gateway/core/Logging.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace herald {
namespace {

std::string logOnce(std::string_view format, const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(makeLogFormatter(format));
  logger.warn("{}", message);
  return out.str();
}

TEST(Logging, JsonLinesEscapeQuotesBackslashesAndControlCharacters) {
  const std::string message = "a \"quoted\" \\ path\nsecond line\r\t\x01 and ünïcode";
  std::string line = logOnce("json", message);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per event";
  auto parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed.at("msg"), message);
  EXPECT_EQ(parsed.at("level"), "warning");
  EXPECT_TRUE(parsed.at("time").is_string());
  EXPECT_TRUE(parsed.at("thread").is_number());
}

TEST(Logging, TextLinesCarryLevelAndMessage) {
  std::string line = logOnce("text", "hello");
  EXPECT_NE(line.find("warning"), std::string::npos);
  EXPECT_NE(line.find("hello"), std::string::npos);
}

TEST(Logging, AppendJsonEscapedEscapesEveryControlCharacter) {
  std::string out;
  appendJsonEscaped(std::string_view("\x00\x1f", 2), out);
  EXPECT_EQ(out, "\\u0000\\u001f");
}

}  // namespace
}  // namespace herald
