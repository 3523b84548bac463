// BindRetry: binding a listener's address, retrying while it is still in use.
//
// After a crash or a SIGKILL the old process's listening socket can hold its port for
// a moment (seen: 0.6 s with 10,000 open streams), so a restart that binds at once
// fails with "Address already in use". Like nginx, every Herald listener binds through
// here: while the address is in use it retries for up to `--bind-retry`, logging each
// attempt, and then fails with the error. Any other error fails at once.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <string_view>

namespace herald {

// Calls `attempt` until it succeeds, fails with something other than "address in use",
// or `retryFor` has passed since the first call (0: one attempt). Each retry is logged
// as a warning naming `what` (e.g. "--stream-listen 0.0.0.0:8080"). Throws
// std::runtime_error "<what>: cannot bind: <reason>" when the last attempt failed.
void bindWithRetry(const std::function<boost::system::error_code()>& attempt,
                   std::chrono::milliseconds retryFor, std::string_view what);

// Opens `acceptor` for `endpoint` with SO_REUSEADDR (never SO_REUSEPORT, so a second
// process cannot share the port silently), binds it and listens with `backlog`,
// retrying as bindWithRetry does. Throws std::runtime_error as bindWithRetry does.
void bindAndListen(boost::asio::ip::tcp::acceptor& acceptor, const boost::asio::ip::tcp::endpoint& endpoint,
                   std::chrono::milliseconds retryFor, std::string_view what, int backlog);

}  // namespace herald
