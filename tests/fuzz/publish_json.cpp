// Fuzz target: validation of publish and batch bodies. Any bytes either become a
// plan of valid notifications or the contract's ApiError; no other exception, no crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/ErrorBody.h"
#include "api/PublishRequest.h"
#include "gateway/core/Channel.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (bool batch : {false, true}) {
    try {
      herald::PublishPlan plan = batch ? herald::parseBatchBody(body) : herald::parsePublishBody(body);
      for (const auto& item : plan.items) {
        if (!herald::isValidChannelName(item.channel)) {
          std::abort();
        }
      }
    } catch (const herald::ApiErrorException& e) {
      if (e.error().status < 400 || e.error().status >= 500) {
        std::abort();
      }
    }
  }
  return 0;
}
