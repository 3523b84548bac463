// HttpStatus: the HTTP status codes both listeners answer with, by name, so
// no handler writes a bare number.
#pragma once

namespace herald::http_status {

inline constexpr int kOk = 200;
inline constexpr int kNoContent = 204;
inline constexpr int kBadRequest = 400;
inline constexpr int kUnauthorized = 401;
inline constexpr int kForbidden = 403;
inline constexpr int kNotFound = 404;
inline constexpr int kMethodNotAllowed = 405;
inline constexpr int kConflict = 409;
inline constexpr int kPayloadTooLarge = 413;
inline constexpr int kUriTooLong = 414;
inline constexpr int kUnsupportedMediaType = 415;
inline constexpr int kTooManyRequests = 429;
inline constexpr int kHeadersTooLarge = 431;
inline constexpr int kInternalError = 500;
inline constexpr int kServiceUnavailable = 503;

}  // namespace herald::http_status
