#include "gateway/http/RouteTable.h"

#include "gateway/http/HttpRequest.h"

namespace herald {

namespace http = boost::beast::http;

namespace {
std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto end = slash == std::string_view::npos ? path.size() : slash;
    segments.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return segments;
}

bool isParameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}
}  // namespace

PathPattern::PathPattern(std::string pattern) : text_(std::move(pattern)), segments_(splitPath(text_)) {}

bool PathPattern::match(std::string_view path, std::vector<std::string>& params) const {
  params.clear();
  if (path.empty() || path.front() != '/') {
    return false;
  }
  std::size_t start = 1;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (start > path.size()) {
      return false;
    }
    auto slash = path.find('/', start);
    bool last = i + 1 == segments_.size();
    if (last != (slash == std::string_view::npos)) {
      return false;
    }
    auto end = last ? path.size() : slash;
    std::string_view segment = path.substr(start, end - start);
    if (isParameter(segments_[i])) {
      auto decoded = percentDecode(segment, false);
      if (segment.empty() || !decoded) {
        return false;
      }
      params.push_back(std::move(*decoded));
    } else if (segment != segments_[i]) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

std::string allowHeaderFor(const std::vector<http::verb>& methods) {
  std::string allow;
  auto add = [&allow](std::string_view method) {
    if (allow.find(method) == std::string::npos) {
      allow += allow.empty() ? "" : ", ";
      allow += method;
    }
  };
  for (http::verb method : methods) {
    add(http::to_string(method));
    if (method == http::verb::get) {
      add("HEAD");
    }
  }
  add("OPTIONS");
  return allow;
}

}  // namespace herald
