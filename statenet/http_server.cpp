// Connections are shared_ptrs kept alive by their pending operation; the registry holds weak
// pointers so that stop() can reach them and its size is the connection count. Deadlines are
// beast::tcp_stream expiries: the TLS stream reads and writes through it, so its handshake is
// bounded too, and an expiry closes the socket, which ends the connection. Handlers are called
// inside try/catch and io_context::run() is restarted after anything it throws.
#include "statenet/http_server.h"

#include "statenet/tls.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <future>
#include <optional>

namespace dwcp::statenet {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

HttpResponse textResponse(const HttpRequest& request, http::status status, std::string body, const char* contentType) {
  HttpResponse response{status, request.version()};
  response.set(http::field::content_type, contentType);
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

namespace {

std::chrono::milliseconds millis(int64_t value) { return std::chrono::milliseconds(value); }

// Logs the first few occurrences, then one in a thousand: a flood must not flood the log.
bool shouldLog(uint64_t count) { return count <= 5 || count % 1000 == 0; }

}  // namespace

class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer& server, tcp::socket socket) : server_(server), tcp_(std::move(socket)) {
    if (server_.config_.tls) tls_.emplace(tcp_, *server_.config_.tls);
  }
  ~Connection() { server_.connectionClosed(this); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    if (!tls_) return readHeader(server_.config_.headerTimeoutMillis);
    tcp_.expires_after(millis(server_.config_.handshakeTimeoutMillis));
    tls_->async_handshake(net::ssl::stream_base::server,
                          [self = shared_from_this()](error_code ec) { self->onHandshake(ec); });
  }
  // Cancels whatever is pending; its completion then ends the connection. On the strand only.
  void close() {
    error_code ignored;
    tcp_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp_.close();
  }
  net::any_io_executor executor() { return tcp_.get_executor(); }

 private:
  template <class F>
  void withStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(tcp_);
    }
  }

  void onHandshake(error_code ec) {
    if (ec) {
      // No certificate, one from another CA or without clientAuth, not TLS at all, or silence.
      const uint64_t failures = ++server_.handshakeFailures_;
      if (shouldLog(failures)) spdlog::info("statenet: refused a TLS connection ({} so far): {}", failures, ec.message());
      return close();
    }
    peerNames_ = certificateNames(tls_->native_handle());
    readHeader(server_.config_.headerTimeoutMillis);
  }

  void readHeader(int64_t timeoutMillis) {
    if (server_.stopping_.load()) return close();
    parser_.emplace();
    parser_->body_limit(server_.config_.maxBodyBytes);
    parser_->header_limit(static_cast<uint32_t>(server_.config_.maxHeaderBytes));
    tcp_.expires_after(millis(timeoutMillis));
    withStream([this](auto& stream) {
      http::async_read_header(stream, buffer_, *parser_,
                              [self = shared_from_this()](error_code ec, size_t) { self->onHeader(ec); });
    });
  }

  void onHeader(error_code ec) {
    if (ec) return refuse(ec);
    tcp_.expires_after(millis(server_.config_.bodyTimeoutMillis));
    withStream([this](auto& stream) {
      http::async_read(stream, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) { self->onBody(ec); });
    });
  }

  // A request that cannot be served: oversized parts are answered, anything else (closed,
  // timed out, garbage) just ends the connection.
  void refuse(error_code ec) {
    const auto& head = parser_->get();
    const HttpRequest request{head.method(), head.target(), head.version() == 0 ? 11u : head.version()};
    if (ec == http::error::body_limit) {
      return write(textResponse(request, http::status::payload_too_large,
                                "request body exceeds the limit of " + std::to_string(server_.config_.maxBodyBytes) +
                                    " bytes\n"),
                   false);
    }
    if (ec == http::error::header_limit) {
      return write(textResponse(request, http::status::request_header_fields_too_large,
                                "request header exceeds the limit of " +
                                    std::to_string(server_.config_.maxHeaderBytes) + " bytes\n"),
                   false);
    }
    close();
  }

  void onBody(error_code ec) {
    if (ec) return refuse(ec);
    HttpRequest request = parser_->release();
    std::optional<HttpResponse> response;
    try {
      response = server_.handler_(request, peerNames_);
    } catch (const std::exception& e) {
      spdlog::error("statenet: the handler of {} failed: {}", std::string(request.target()), e.what());
    } catch (...) {
      spdlog::error("statenet: the handler of {} failed", std::string(request.target()));
    }
    if (!response) response = textResponse(request, http::status::internal_server_error, "internal error\n");
    const bool keepAlive = response->keep_alive() && !server_.stopping_.load();
    write(std::move(*response), keepAlive);
  }

  void write(HttpResponse response, bool keepAlive) {
    response.keep_alive(keepAlive);
    response_ = std::move(response);
    tcp_.expires_after(millis(server_.config_.writeTimeoutMillis));
    withStream([this](auto& stream) {
      http::async_write(stream, *response_, [self = shared_from_this()](error_code ec, size_t) { self->onWrite(ec); });
    });
  }

  void onWrite(error_code ec) {
    const bool keepAlive = response_->keep_alive();
    response_.reset();
    if (ec || !keepAlive) return close();
    readHeader(server_.config_.idleTimeoutMillis);
  }

  HttpServer& server_;
  beast::tcp_stream tcp_;
  std::optional<net::ssl::stream<beast::tcp_stream&>> tls_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<HttpResponse> response_;
  std::vector<std::string> peerNames_;
};

HttpServer::HttpServer(HttpServerConfig config, HttpHandler handler)
    : config_(std::move(config)),
      handler_(std::move(handler)),
      acceptor_(net::make_strand(io_)),
      acceptRetry_(acceptor_.get_executor()) {}

HttpServer::~HttpServer() { stop(); }

state::Status HttpServer::start() {
  std::lock_guard lifecycle(lifecycleMu_);
  if (started_ || stopping_.load()) return state::Error{state::ErrorCode::kInvalidArgument, "the HTTP server was already started"};
  error_code ec;
  const auto address = net::ip::make_address(config_.host, ec);
  if (ec) return state::Error{state::ErrorCode::kInvalidArgument, "listen address " + config_.host + " is not an IP address"};
  const tcp::endpoint endpoint(address, config_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return state::Error{state::ErrorCode::kInvalidArgument,
                        "cannot listen on " + config_.host + ":" + std::to_string(config_.port) + ": " + ec.message()};
  }
  port_ = acceptor_.local_endpoint().port();
  started_ = true;
  work_.emplace(io_.get_executor());
  net::post(acceptor_.get_executor(), [this] { accept(); });
  for (size_t i = 0; i < std::max<size_t>(1, config_.ioThreads); ++i) threads_.emplace_back([this] { runIo(); });
  return state::okStatus();
}

void HttpServer::runIo() {
  while (true) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("statenet: an HTTP io thread caught: {}", e.what());
    } catch (...) {
      spdlog::error("statenet: an HTTP io thread caught an unknown exception");
    }
  }
}

void HttpServer::accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](error_code ec, tcp::socket socket) { onAccept(ec, std::move(socket)); });
}

void HttpServer::onAccept(error_code ec, tcp::socket socket) {
  if (stopping_.load() || ec == net::error::operation_aborted) return;
  if (ec) {
    // E.g. out of descriptors: back off instead of spinning.
    spdlog::warn("statenet: accept failed: {}", ec.message());
    acceptRetry_.expires_after(std::chrono::milliseconds(50));
    acceptRetry_.async_wait([this](error_code waited) {
      if (!waited && !stopping_.load()) accept();
    });
    return;
  }
  try {
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    bool admitted = false;
    {
      std::lock_guard lock(mu_);
      if (connections_.size() < config_.maxConnections) {
        connections_.emplace(connection.get(), connection);
        admitted = true;
      }
    }
    if (admitted) {
      net::post(connection->executor(), [connection] { connection->start(); });
    } else {
      const uint64_t refused = ++refusedConnections_;
      if (shouldLog(refused)) {
        spdlog::warn("statenet: {} connections open, the limit: closed a new one ({} so far)", config_.maxConnections, refused);
      }
      connection->close();  // on the acceptor's strand: nothing else has seen it
    }
  } catch (const std::exception& e) {
    spdlog::error("statenet: could not take a connection: {}", e.what());
  }
  accept();
}

void HttpServer::connectionClosed(Connection* connection) {
  std::lock_guard lock(mu_);
  connections_.erase(connection);
  closed_.notify_all();
}

size_t HttpServer::openConnections() const {
  std::lock_guard lock(mu_);
  return connections_.size();
}

void HttpServer::stop() {
  std::lock_guard lifecycle(lifecycleMu_);
  if (stopping_.exchange(true) || !started_) return;
  // 1. No new connections.
  std::promise<void> closedAcceptor;
  net::post(acceptor_.get_executor(), [this, &closedAcceptor] {
    error_code ignored;
    acceptor_.close(ignored);
    acceptRetry_.cancel();
    closedAcceptor.set_value();
  });
  closedAcceptor.get_future().wait();
  // 2. Close every connection; a handler in progress finishes first.
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : connections_) {
      if (auto connection = weak.lock()) open.push_back(std::move(connection));
    }
  }
  for (auto& connection : open) net::post(connection->executor(), [connection] { connection->close(); });
  open.clear();
  {
    std::unique_lock lock(mu_);
    if (!closed_.wait_for(lock, std::chrono::seconds(5), [this] { return connections_.empty(); })) {
      spdlog::warn("statenet: {} connections still open at stop; dropping them", connections_.size());
    }
  }
  // 3. The io threads; connections still queued go with the io_context.
  work_.reset();
  io_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace dwcp::statenet
