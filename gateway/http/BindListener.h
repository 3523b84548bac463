// BindListener: opens, binds and listens a TCP acceptor for a `host:port`
// listen setting. Both listeners bind through it, so they refuse the same bad
// addresses with the same messages and share whatever binding policy is added
// here (SO_REUSEADDR only: never SO_REUSEPORT, a second process must fail to bind).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <string_view>

namespace herald {

// Throws std::runtime_error naming `setting` (e.g. "--api-listen") when `listen` is not
// an IP host:port or cannot be bound. Port 0 binds any free port.
std::unique_ptr<boost::asio::ip::tcp::acceptor> bindListener(boost::asio::io_context& io,
                                                             std::string_view setting,
                                                             const std::string& listen);

}  // namespace herald
