// Blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO as the idle bound; stop() shuts the listening and
// connected sockets down (which wakes the blocked accept and reads) and joins the threads.
// Finished connection threads are reaped on the next accept.
#include "statenet/http_server.h"

#include "statenet/tls.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace dwcp::statenet {
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

HttpResponse textResponse(const HttpRequest& request, http::status status, std::string body, const char* contentType) {
  HttpResponse response{status, request.version()};
  response.set(http::field::content_type, contentType);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

namespace {

void setTimeouts(int fd, int64_t millis) {
  timeval tv{};
  tv.tv_sec = millis / 1000;
  tv.tv_usec = (millis % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

HttpServer::HttpServer(HttpServerConfig config, HttpHandler handler)
    : config_(std::move(config)), handler_(std::move(handler)), acceptor_(io_) {}

HttpServer::~HttpServer() { stop(); }

state::Status HttpServer::start() {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(config_.host, ec);
  if (ec) return state::Error{state::ErrorCode::kInvalidArgument, "listen address " + config_.host + " is not an IP address"};
  const tcp::endpoint endpoint(address, config_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(64, ec);
  if (ec) {
    return state::Error{state::ErrorCode::kInvalidArgument,
                        "cannot listen on " + config_.host + ":" + std::to_string(config_.port) + ": " + ec.message()};
  }
  port_ = acceptor_.local_endpoint().port();
  acceptThread_ = std::thread([this] { acceptLoop(); });
  return state::okStatus();
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.is_open()) {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
  }
  if (acceptThread_.joinable()) acceptThread_.join();
  boost::system::error_code ec;
  acceptor_.close(ec);
  std::list<std::unique_ptr<Connection>> connections;
  {
    std::lock_guard lock(mu_);
    for (auto& connection : connections_) ::shutdown(connection->socket.native_handle(), SHUT_RDWR);
    connections.swap(connections_);
  }
  for (auto& connection : connections) {
    if (connection->thread.joinable()) connection->thread.join();
  }
}

void HttpServer::reapFinishedLocked() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if ((*it)->done.load()) {
      if ((*it)->thread.joinable()) (*it)->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

void HttpServer::acceptLoop() {
  while (!stopping_.load()) {
    tcp::socket socket(io_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    if (ec) {
      if (stopping_.load()) return;
      spdlog::warn("statenet: accept failed: {}", ec.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. out of descriptors: do not spin
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    setTimeouts(socket.native_handle(), config_.idleTimeoutMillis);
    std::lock_guard lock(mu_);
    reapFinishedLocked();
    if (stopping_.load()) return;
    auto connection = std::make_unique<Connection>(std::move(socket));
    Connection* raw = connection.get();
    connections_.push_back(std::move(connection));
    raw->thread = std::thread([this, raw] {
      serve(*raw);
      raw->done.store(true);
    });
  }
}

void HttpServer::serve(Connection& connection) {
  if (!config_.tls) {
    serveRequests(connection.socket, {});
    boost::system::error_code ec;
    connection.socket.shutdown(tcp::socket::shutdown_both, ec);
    return;
  }
  boost::asio::ssl::stream<tcp::socket&> stream(connection.socket, *config_.tls);
  boost::system::error_code ec;
  stream.handshake(boost::asio::ssl::stream_base::server, ec);
  if (ec) {
    // No certificate, one from another CA, or not TLS at all: refused before any request.
    handshakeFailures_.fetch_add(1);
    spdlog::info("statenet: refused a TLS connection: {}", ec.message());
    return;
  }
  serveRequests(stream, certificateNames(stream.native_handle()));
  stream.shutdown(ec);
}

template <class Stream>
void HttpServer::serveRequests(Stream& stream, const std::vector<std::string>& peerNames) {
  boost::beast::flat_buffer buffer;
  while (!stopping_.load()) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(config_.maxBodyBytes);
    parser.header_limit(16 * 1024);
    boost::system::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      HttpRequest head{parser.get().method(), parser.get().target(), parser.get().version()};
      HttpResponse response = textResponse(head, http::status::payload_too_large,
                                           "request body exceeds the limit of " + std::to_string(config_.maxBodyBytes) +
                                               " bytes\n");
      response.keep_alive(false);
      http::write(stream, response, ec);
      return;
    }
    if (ec) return;  // closed, idle timeout, or garbage: nothing to answer
    HttpRequest request = parser.release();
    HttpResponse response = handler_(request, peerNames);
    http::write(stream, response, ec);
    if (ec || !response.keep_alive()) return;
  }
}

}  // namespace dwcp::statenet
