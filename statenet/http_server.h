// A small blocking HTTP/1.1 server on Boost.Beast, plain or TLS, for the peer endpoint and
// the replica's local control API: one thread accepts, one thread per connection reads
// requests (bodies above maxBodyBytes are answered 413 unread) and calls the handler. With
// TLS the handler receives the names of the verified client certificate. Thread-safe;
// stop() (also run by the destructor) closes every connection and joins every thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engines/state/status.h"

namespace dwcp::statenet {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
// peerNames: the verified client certificate's names (empty on a plain server).
using HttpHandler = std::function<HttpResponse(const HttpRequest&, const std::vector<std::string>& peerNames)>;

HttpResponse textResponse(const HttpRequest& request, boost::beast::http::status status, std::string body,
                          const char* contentType = "text/plain");

struct HttpServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see HttpServer::port()
  size_t maxBodyBytes = 1 << 20;
  int64_t idleTimeoutMillis = 30'000;
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
  uint64_t handshakeFailures() const { return handshakeFailures_.load(); }

 private:
  struct Connection {
    boost::asio::ip::tcp::socket socket;
    std::thread thread;
    std::atomic<bool> done{false};
    explicit Connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  };
  void acceptLoop();
  void serve(Connection& connection);
  template <class Stream>
  void serveRequests(Stream& stream, const std::vector<std::string>& peerNames);
  void reapFinishedLocked();

  const HttpServerConfig config_;
  const HttpHandler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> handshakeFailures_{0};
  std::thread acceptThread_;
  std::mutex mu_;
  std::list<std::unique_ptr<Connection>> connections_;
};

}  // namespace dwcp::statenet
