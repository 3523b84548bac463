// Fuzz target: the stream listener's request handling, raw bytes in, response bytes
// out (answerRequestBytes: Beast's parser, limits, CORS, token, grants). Whatever
// the bytes, it answers with a well-formed status line or nothing, and never crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/stream/StreamRequest.h"

namespace {

herald::Config makeConfig(bool withToken) {
  herald::Config config;
  config.corsOrigins = {"https://app.example", "*"};
  config.maxHeaders = 16;
  config.maxRequestLine = 512;
  config.maxHeaderBytes = 2048;
  if (withToken) {
    config.jwtSecret = "fuzz-secret";
  }
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const herald::Config securedConfig = makeConfig(true);
  static const herald::Config openConfig = makeConfig(false);
  static const herald::StreamPolicy secured(securedConfig);
  static const herald::StreamPolicy open(openConfig);
  if (size == 0) {
    return 0;
  }
  // The first byte picks the listener's mode, so both paths are explored.
  const herald::StreamPolicy& policy = (data[0] & 1) != 0 ? secured : open;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string answer = herald::answerRequestBytes(bytes, policy);
  if (!answer.empty() && answer.rfind("HTTP/1.1 ", 0) != 0) {
    std::abort();
  }
  return 0;
}
