#include "gateway/http/BindListener.h"

#include <boost/asio/ip/address.hpp>
#include <stdexcept>

#include "gateway/core/ListenAddress.h"

namespace herald {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr int kListenBacklog = 4096;
}  // namespace

std::unique_ptr<tcp::acceptor> bindListener(asio::io_context& io, std::string_view setting,
                                            const std::string& listen) {
  const std::string name(setting);
  auto address = ListenAddress::parse(listen);
  if (!address) {
    throw std::runtime_error(name + ": expected host:port, got '" + listen + "'");
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address->host, ec);
  if (ec) {
    throw std::runtime_error(name + ": '" + address->host + "' is not an IP address");
  }
  tcp::endpoint endpoint(ip, address->port);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(tcp::acceptor::reuse_address(true));
  acceptor->bind(endpoint, ec);
  if (ec) {
    throw std::runtime_error(name + ": cannot bind " + listen + ": " + ec.message());
  }
  acceptor->listen(kListenBacklog, ec);
  if (ec) {
    throw std::runtime_error(name + ": cannot listen on " + listen + ": " + ec.message());
  }
  return acceptor;
}

}  // namespace herald
