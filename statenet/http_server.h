// A small HTTP/1.1 server on Boost.Beast, plain or TLS, for the peer endpoint and the replica's
// local control API. Asynchronous: ioThreads threads run every connection, each on its own
// strand, with a deadline on every wait (TLS handshake, first header, body, the idle gap
// before a kept-alive connection's next header, each write); a connection past its deadline
// is closed. At most maxConnections are open at once; one above that is closed as soon as it
// is accepted and counted. Bodies above maxBodyBytes are answered 413 unread.
// The handler runs synchronously on an io thread: a handler that blocks holds one thread (the
// control API's quorum calls do, so it runs more threads). With TLS it receives the DNS SANs
// of the verified client certificate. A handler that throws is answered 500; no exception
// escapes a connection or the accept loop. Thread-safe; stop() (also run by the destructor)
// closes every connection and joins the io threads.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engines/state/status.h"

namespace dwcp::statenet {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// peerNames: the verified client certificate's DNS SANs (empty on a plain server).
using HttpHandler = std::function<HttpResponse(const HttpRequest&, const std::vector<std::string>& peerNames)>;

HttpResponse textResponse(const HttpRequest& request, boost::beast::http::status status, std::string body,
                          const char* contentType = "text/plain");

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see HttpServer::port()
  size_t maxBodyBytes = 1 << 20;
  size_t maxHeaderBytes = 16 * 1024;
  size_t maxConnections = 256;  // a connection above this is closed at once, see refusedConnections()
  size_t ioThreads = 2;
  int64_t handshakeTimeoutMillis = 10'000;  // TLS handshake, from accept
  int64_t headerTimeoutMillis = 10'000;     // the first request's header
  int64_t bodyTimeoutMillis = 30'000;       // a body, once its header is in
  int64_t idleTimeoutMillis = 30'000;       // the next request's header on a kept-alive connection
  int64_t writeTimeoutMillis = 10'000;      // a response
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
};

class HttpServer {
 public:
  HttpServer(HttpServerConfig config, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  state::Status start();
  void stop();
  uint16_t port() const { return port_; }
  // TLS handshakes that failed or timed out (no certificate, another CA, not TLS, silence).
  uint64_t handshakeFailures() const { return handshakeFailures_.load(); }
  // Connections closed on accept because maxConnections were open.
  uint64_t refusedConnections() const { return refusedConnections_.load(); }
  size_t openConnections() const;

 private:
  class Connection;  // http_server.cpp
  void accept();
  void onAccept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);
  void runIo();
  void connectionClosed(Connection* connection);

  const HttpServerConfig config_;
  const HttpHandler handler_;
  uint16_t port_ = 0;
  std::mutex lifecycleMu_;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> handshakeFailures_{0};
  std::atomic<uint64_t> refusedConnections_{0};

  mutable std::mutex mu_;
  std::condition_variable closed_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;

  // After the registry: the io_context (and the connections its queue still holds) goes first.
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand
  boost::asio::steady_timer acceptRetry_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

}  // namespace dwcp::statenet
