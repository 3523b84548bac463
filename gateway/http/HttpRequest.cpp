#include "gateway/http/HttpRequest.h"

namespace herald {

std::string_view HttpRequest::path() const {
  std::string_view target = message.target();
  return target.substr(0, target.find('?'));
}

std::string_view HttpRequest::header(std::string_view name) const {
  auto it = message.find(name);
  return it == message.end() ? std::string_view{} : std::string_view(it->value());
}

bool HttpRequest::hasHeader(std::string_view name) const {
  return message.find(name) != message.end();
}

std::optional<std::string> HttpRequest::query(std::string_view name) const {
  std::string_view target = message.target();
  auto question = target.find('?');
  if (question == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq), true);
    if (key && *key == name) {
      auto value =
          percentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
      return value ? *value : std::string(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

}  // namespace herald
