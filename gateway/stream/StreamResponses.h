// StreamResponses: the fixed HTTP bytes the stream listener writes: the head of
// an SSE response and complete JSON error responses. Pure: no I/O.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace herald {

// `HTTP/1.1 200 OK` with the SSE headers of the contract. The body runs until
// the connection closes (no Content-Length, no chunking: nothing to frame).
// `extraHeaders` are full lines ending in CRLF (the CORS headers of an allowed origin).
std::string sseResponseHead(std::string_view extraHeaders = {});

// A complete response with the JSON error body; `extraHeaders` are full lines
// ending in CRLF (e.g. "Allow: GET\r\n").
std::string errorResponse(int status, std::string_view code, std::string_view message,
                          std::string_view extraHeaders = {});

// --retry plus a random part of it, for the `retry:` line of a stream the server
// ends (broker down, token expired, drain), so clients do not return in lockstep.
std::chrono::milliseconds jitteredRetry(std::chrono::milliseconds retry);

}  // namespace herald
