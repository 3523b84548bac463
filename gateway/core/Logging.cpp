#include "gateway/core/Logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <array>

namespace herald {

namespace {

constexpr char kJsonMessageFlag = '*';
constexpr const char* kJsonPattern =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%*"})";
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v";
constexpr unsigned char kFirstPrintable = 0x20;

// `%*`: the message, escaped for a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string escaped;
    escaped.reserve(msg.payload.size());
    appendJsonEscaped(std::string_view(msg.payload.data(), msg.payload.size()), escaped);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

void appendJsonEscaped(std::string_view text, std::string& out) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < kFirstPrintable) {
          out += "\\u00";
          out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
          out += kHex[static_cast<unsigned char>(c) & 0xF];
        } else {
          out += c;  // UTF-8 passes through; JSON allows it unescaped
        }
    }
  }
}

std::unique_ptr<spdlog::formatter> makeLogFormatter(std::string_view format) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>(kJsonMessageFlag).set_pattern(kJsonPattern);
  } else {
    formatter->set_pattern(kTextPattern);
  }
  return formatter;
}

void configureLogging(const std::string& level, std::string_view format) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_formatter(makeLogFormatter(format));
}

}  // namespace herald
