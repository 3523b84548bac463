// RouteTable: a listener's routes, (method, path pattern) -> handler, and the
// answers derived from them for everything else: an unknown path is 404, a known
// path with another method is 405 with its `Allow`, OPTIONS is the CORS
// preflight (204) with the same `Allow`, HEAD runs the GET route (the session
// drops the body). One table, so the 405/OPTIONS rules cannot drift from the
// routes. A pattern's `{name}` segment matches one non-empty path segment and is
// handed to the handler percent-decoded.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

// One path pattern and the methods it takes; the non-template half of RouteTable.
class PathPattern {
 public:
  explicit PathPattern(std::string pattern);
  const std::string& text() const { return text_; }
  // Whether `path` matches; fills `params` (percent-decoded) when it does.
  bool match(std::string_view path, std::vector<std::string>& params) const;

 private:
  std::string text_;
  std::vector<std::string> segments_;  // "{x}" is a parameter
};

// "GET, HEAD, OPTIONS" and the like, for the methods a path takes.
std::string allowHeaderFor(const std::vector<boost::beast::http::verb>& methods);

template <class Handler>
class RouteTable {
 public:
  enum class Kind { found, notFound, methodNotAllowed, preflight };
  struct Lookup {
    Kind kind = Kind::notFound;
    const Handler* handler = nullptr;
    std::vector<std::string> params;
    std::string_view allow;  // for 405 and OPTIONS
  };

  void add(boost::beast::http::verb method, std::string pattern, Handler handler) {
    Path* path = nullptr;
    for (auto& candidate : paths_) {
      if (candidate.pattern.text() == pattern) {
        path = &candidate;
      }
    }
    if (path == nullptr) {
      path = &paths_.emplace_back(Path{PathPattern(std::move(pattern)), {}, {}});
    }
    path->routes.emplace_back(method, std::move(handler));
    std::vector<boost::beast::http::verb> methods;
    for (const auto& route : path->routes) {
      methods.push_back(route.first);
    }
    path->allow = allowHeaderFor(methods);
  }

  Lookup find(boost::beast::http::verb method, std::string_view target) const {
    using boost::beast::http::verb;
    std::string_view path = target.substr(0, target.find('?'));
    Lookup lookup;
    for (const auto& candidate : paths_) {
      if (!candidate.pattern.match(path, lookup.params)) {
        continue;
      }
      lookup.allow = candidate.allow;
      if (method == verb::options) {
        lookup.kind = Kind::preflight;
        return lookup;
      }
      verb wanted = method == verb::head ? verb::get : method;
      for (const auto& route : candidate.routes) {
        if (route.first == wanted) {
          lookup.kind = Kind::found;
          lookup.handler = &route.second;
          return lookup;
        }
      }
      lookup.kind = Kind::methodNotAllowed;
      return lookup;
    }
    return lookup;
  }

  // Every (method, pattern), in the order added (the OpenAPI parity check reads them).
  std::vector<std::pair<boost::beast::http::verb, std::string>> routes() const {
    std::vector<std::pair<boost::beast::http::verb, std::string>> out;
    for (const auto& path : paths_) {
      for (const auto& route : path.routes) {
        out.emplace_back(route.first, path.pattern.text());
      }
    }
    return out;
  }

 private:
  struct Path {
    PathPattern pattern;
    std::vector<std::pair<boost::beast::http::verb, Handler>> routes;
    std::string allow;
  };
  std::vector<Path> paths_;
};

}  // namespace herald
