// CorsPolicy: which browser origins may read Herald's answers, and the CORS
// headers that says so. Pure: no I/O. Both listeners use it, so a page sees the
// same rules on the stream and the api, on errors too (a page must be able to
// read a 401 to know it needs a fresh token).
//
// The allow-list comes from --cors-origin: exact origins (`https://app.example`)
// are answered with that origin and `Access-Control-Allow-Credentials: true`
// (cookies and Authorization may be sent); `*` lets any other origin read
// answers but without credentials, because browsers refuse `*` with credentials
// and a wildcard that also carried cookies would let any site act as the user.
// Origins not allowed get no CORS headers at all.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CorsPolicy {
 public:
  CorsPolicy() = default;
  explicit CorsPolicy(std::vector<std::string> allowedOrigins);

  // The CORS headers for an answer to a request with this `Origin` (empty: none sent).
  HeaderList responseHeaders(std::string_view origin) const;

  // The allow-list entry that admits `origin` (the origin itself, or `*`), or nullptr.
  // It lives as long as the policy, so a connection can keep this pointer instead of
  // a copy of its headers; headersFor() turns it back into headers.
  const std::string* match(std::string_view origin) const;
  static HeaderList headersFor(const std::string& entry);

  // The headers of a preflight (`OPTIONS`) answer: responseHeaders plus the
  // methods, the request headers asked for and a cache lifetime; nothing for an
  // origin that is not allowed (the answer is still 204).
  HeaderList preflightHeaders(std::string_view origin, std::string_view allowMethods,
                              std::string_view requestedHeaders) const;

  // The same headers as CRLF-terminated lines, for a hand-written HTTP head.
  static std::string asHeaderLines(const HeaderList& headers);

 private:
  std::vector<std::string> exactOrigins_;
  bool anyOrigin_ = false;
  std::string anyOriginEntry_ = "*";
};

}  // namespace herald
