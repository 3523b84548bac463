#include "api/ErrorBody.h"

#include <nlohmann/json.hpp>

namespace herald {

std::string makeErrorBody(std::string_view code, std::string_view message) {
  nlohmann::json body{{"error", {{"code", code}, {"message", message}}}};
  // `replace` keeps a message that quotes bad client bytes valid JSON instead of throwing.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace herald
