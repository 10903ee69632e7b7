// One connection is a Session on one io_context. Reads go straight from the socket (or its TLS
// stream) into a buffer that Beast's parser consumes, so pipelined requests stay buffered and
// the header fields the handler does not need are never stored; responses are serialized into
// one buffer, one send each. Every deadline (handshake, read, idle, write) is one time point
// that each operation moves and one timer that fires at most once per period, not a timer
// operation per request; at the deadline the socket is closed, which ends the pending
// operation and, with it, the connection. A failed handshake is logged the first time its
// (client address, error) is seen, remembered in a bounded set.
#include "net/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <future>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "net/tls.h"

namespace dwcp::net {

std::string errorBody(std::string_view message, std::string_view field) {
  auto quote = [](std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char c : text) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
            out += escaped;
          } else {
            out.push_back(c);
          }
      }
    }
    out.push_back('"');
  };
  std::string out = "{\"error\":";
  quote(out, message);
  if (!field.empty()) {
    out += ",\"field\":";
    quote(out, field);
  }
  out.push_back('}');
  return out;
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
// Concrete executor types: the polymorphic any_io_executor costs a copy and a destroy per
// operation on the hot path.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;
using SteadyClock = std::chrono::steady_clock;

// Logs the first few occurrences, then one in a thousand: a flood must not flood the log.
bool shouldLog(std::uint64_t count) { return count <= 5 || count % 1000 == 0; }

// (client address, error) pairs of failed handshakes remembered to log each once; beyond,
// failures are only counted, so clients cannot grow memory or the log.
constexpr std::size_t kMaxHandshakeFailuresLogged = 1024;

class Server;

// What the handler needs of a request; owned by the session and reused across its requests, so
// a kept-alive connection allocates nothing per request once its strings have grown.
struct RequestHead {
  std::string method;
  std::string target;
  std::string body;
  std::string forwardedFor;
  unsigned version = 11;
};

// Beast's HTTP/1.1 parser (framing, chunked bodies, limits, keep-alive rules) with the header
// fields the handler does not need discarded instead of stored one allocation each.
class LeanRequestParser final : public http::basic_parser<true> {
 public:
  explicit LeanRequestParser(RequestHead& head) : head_(head) {
    head_.method.clear();
    head_.target.clear();
    head_.body.clear();
    head_.forwardedFor.clear();
  }

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int version,
                       error_code&) override {
    head_.method.assign(method.data(), method.size());
    head_.target.assign(target.data(), target.size());
    head_.version = static_cast<unsigned>(version);
  }
  void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = http::error::bad_version; }
  void on_field_impl(http::field field, beast::string_view name, beast::string_view value, error_code&) override {
    if (field != http::field::unknown || !beast::iequals(name, "X-Forwarded-For")) return;
    if (!head_.forwardedFor.empty()) head_.forwardedFor.push_back(',');
    head_.forwardedFor.append(value.data(), value.size());  // bounded by the header limit
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    if (length) head_.body.reserve(static_cast<std::size_t>(*length));  // bounded by body_limit
  }
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    head_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  RequestHead& head_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, Socket socket, std::shared_ptr<ssl::context> tls);
  ~Session();
  void start();
  void drain();  // posted by stop(): finish the request in progress, then close
  void close();
  Executor executor() { return socket_.get_executor(); }

 private:
  void onHandshake(error_code ec);
  void readRequest();
  void parseBuffered();
  void onReadSome(error_code ec, std::size_t bytes);
  void onRead(error_code ec);
  void setDeadline(std::chrono::milliseconds timeout);
  void armTimer();
  void respondWithError(http::status status, std::string_view message, std::string_view field);
  void write(const HttpResponse& response, unsigned version, bool keepAlive);
  void onWrite(error_code ec, bool keepAlive);

  Server& server_;
  Socket socket_;
  // The context must outlive the stream made from it (its verify callback lives there).
  std::shared_ptr<ssl::context> tlsContext_;
  std::optional<ssl::stream<Socket&>> tls_;
  std::vector<std::string> peerNames_;
  Timer timer_;
  SteadyClock::time_point deadline_;
  bool timerArmed_ = false;
  bool closed_ = false;
  std::vector<char> in_;  // received bytes; [begin_, end_) not yet parsed
  std::size_t begin_ = 0, end_ = 0;
  RequestHead head_;
  std::optional<LeanRequestParser> parser_;
  std::string out_;  // the serialized response being written
  std::string peerAddress_;
  std::uint64_t requestBytes_ = 0;  // consumed by the parser for the request being read
  bool firstRequest_ = true;
  bool reading_ = false;
  bool draining_ = false;
};

class Server final : public HttpServer {
 public:
  Server(HttpServerOptions options, HttpHandler handler) : options_(std::move(options)), handler_(std::move(handler)) {
    if (options_.threads == 0) options_.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  ~Server() override { stop(); }

  Status start() override;
  std::uint16_t port() const override { return port_.load(); }
  void stop() override;
  std::uint64_t handshakeFailures() const override { return handshakeFailures_.load(); }
  std::uint64_t refusedConnections() const override { return refusedConnections_.load(); }
  std::size_t openConnections() const override {
    std::lock_guard lock(sessionsMu_);
    return openSessions_;
  }

  const HttpServerOptions& options() const { return options_; }
  const HttpHandler& handler() const { return handler_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void handshakeFailed(const std::string& peerAddress, const std::string& why) {
    bool first = false;
    bool nowFull = false;
    if (!stopping()) {  // a handshake cut short by stop() says nothing about the client
      std::lock_guard lock(handshakeLogMu_);
      if (handshakeFailuresLogged_.size() < kMaxHandshakeFailuresLogged) {
        first = handshakeFailuresLogged_.emplace(peerAddress, why).second;
        nowFull = first && handshakeFailuresLogged_.size() == kMaxHandshakeFailuresLogged;
      }
    }
    if (first) spdlog::warn("{}: TLS handshake from {} failed: {}", options_.name, peerAddress, why);
    if (nowFull) {
      spdlog::warn("{}: TLS handshakes failed from {} different (address, error) pairs; new ones are only counted",
                   options_.name, kMaxHandshakeFailuresLogged);
    }
    ++handshakeFailures_;
  }

  void sessionOpened() {
    std::lock_guard lock(sessionsMu_);
    ++openSessions_;
  }
  void sessionClosed(Session* session) {
    std::lock_guard lock(sessionsMu_);
    sessions_.erase(session);
    --openSessions_;
    sessionsCv_.notify_all();
  }

 private:
  struct Listener;
  void accept(Listener& listener);
  void onAccept(Listener& listener, error_code ec, Socket socket);
  void runIo(asio::io_context& context);
  Status listen(const asio::ip::address& address);

  HttpServerOptions options_;
  const HttpHandler handler_;
  std::atomic<std::uint16_t> port_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> handshakeFailures_{0};
  std::atomic<std::uint64_t> refusedConnections_{0};
  std::mutex handshakeLogMu_;
  std::set<std::pair<std::string, std::string>> handshakeFailuresLogged_;
  bool started_ = false;
  std::mutex lifecycleMu_;

  mutable std::mutex sessionsMu_;
  std::condition_variable sessionsCv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
  std::size_t openSessions_ = 0;

  // Declared after the session registry: io_contexts (and the sessions their queues still
  // hold) are destroyed first.
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  // With reusePort, one listening socket per io thread, each accepting onto its own
  // io_context; SO_INCOMING_CPU asks the kernel to hand a connection to the listener of the
  // CPU its client connected from (no cross-CPU wake-up per request when the client stays).
  struct Listener {
    explicit Listener(asio::io_context& context) : acceptor(context), retry(context) {}
    tcp::acceptor acceptor;
    std::optional<Socket> accepting;  // the socket the pending accept fills
    asio::steady_timer retry;
    std::size_t context = 0;          // the io_context the acceptor runs on
    std::size_t nextConnection = 0;   // round robin (reusePort off): where the next connection goes
  };
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::thread> threads_;
};

Session::Session(Server& server, Socket socket, std::shared_ptr<ssl::context> tls)
    : server_(server), socket_(std::move(socket)), tlsContext_(std::move(tls)), timer_(socket_.get_executor()), in_(4096) {
  server_.sessionOpened();
  if (tlsContext_) tls_.emplace(socket_, *tlsContext_);
  error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  if (!ec) {
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    peerAddress_ = address.to_string();
  }
}

Session::~Session() { server_.sessionClosed(this); }

void Session::start() {
  if (server_.stopping()) return close();
  if (!tls_) return readRequest();
  setDeadline(server_.options().handshakeTimeout);
  tls_->async_handshake(ssl::stream_base::server, [self = shared_from_this()](error_code ec) { self->onHandshake(ec); });
}

void Session::onHandshake(error_code ec) {
  if (ec) {
    // No certificate, one from another CA or without clientAuth, not TLS at all, or silence
    // (the deadline closed the socket).
    const bool timedOut = ec == asio::error::operation_aborted && SteadyClock::now() >= deadline_;
    server_.handshakeFailed(peerAddress_.empty() ? "an unknown address" : peerAddress_,
                            timedOut ? "no handshake within " + std::to_string(server_.options().handshakeTimeout.count()) + " ms"
                                     : ec.message());
    return close();
  }
  peerNames_ = certificateNames(tls_->native_handle());
  readRequest();
}

void Session::drain() {
  draining_ = true;
  // Still in the TLS handshake, or idle between requests: nothing is lost by closing now.
  const bool handshaking = !parser_;
  const bool idle = reading_ && begin_ == end_ && parser_ && !parser_->got_some();
  if (handshaking || idle) close();
}

void Session::setDeadline(std::chrono::milliseconds timeout) {
  deadline_ = SteadyClock::now() + timeout;
  if (!timerArmed_) armTimer();
}

void Session::armTimer() {
  timerArmed_ = true;
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    self->timerArmed_ = false;
    if (ec || self->closed_) return;
    if (SteadyClock::now() >= self->deadline_) return self->close();  // cancels the pending I/O
    self->armTimer();  // the deadline moved on since: wait for the rest
  });
}

void Session::readRequest() {
  if (draining_ || server_.stopping()) return close();
  const auto& options = server_.options();
  parser_.emplace(head_);
  requestBytes_ = 0;
  parser_->eager(true);
  parser_->body_limit(options.bodyLimitBytes);
  parser_->header_limit(static_cast<std::uint32_t>(options.headerLimitBytes));
  setDeadline(firstRequest_ ? options.readTimeout : options.idleTimeout);
  firstRequest_ = false;
  reading_ = true;
  parseBuffered();
}

// Feeds the buffered bytes to the parser; reads more when the request is not complete yet.
void Session::parseBuffered() {
  while (begin_ < end_ && !parser_->is_done()) {
    error_code ec;
    const std::size_t used = parser_->put(asio::buffer(in_.data() + begin_, end_ - begin_), ec);
    begin_ += used;
    requestBytes_ += used;
    if (ec == http::error::need_more) break;
    if (ec) return onRead(ec);
    if (used == 0) break;
  }
  if (parser_->is_done()) return onRead({});
  // Keep the unparsed tail at the front, and room behind it (a header is parsed whole, so a
  // large one needs the buffer to grow up to the header limit plus the body limit).
  if (begin_ > 0) {
    std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == in_.size()) {
    const auto& options = server_.options();
    const std::size_t most = options.headerLimitBytes + options.bodyLimitBytes + 4096;
    if (in_.size() >= most) return onRead(http::error::buffer_overflow);
    in_.resize(std::min(most, in_.size() * 2));
  }
  auto buffer = asio::buffer(in_.data() + end_, in_.size() - end_);
  auto done = [self = shared_from_this()](error_code ec, std::size_t bytes) { self->onReadSome(ec, bytes); };
  if (tls_) {
    tls_->async_read_some(buffer, std::move(done));
  } else {
    socket_.async_read_some(buffer, std::move(done));
  }
}

void Session::onReadSome(error_code ec, std::size_t bytes) {
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
    ec = parser_->got_some() || begin_ != end_ ? http::error::partial_message : http::error::end_of_stream;
  }
  if (ec) return onRead(ec);
  end_ += bytes;
  parseBuffered();
}

void Session::onRead(error_code ec) {
  reading_ = false;
  if (ec == http::error::body_limit) {
    return respondWithError(http::status::payload_too_large,
                            "request body exceeds the limit of " + std::to_string(server_.options().bodyLimitBytes) +
                                " bytes",
                            "body");
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return respondWithError(http::status::request_header_fields_too_large,
                            "request header exceeds the limit of " +
                                std::to_string(server_.options().headerLimitBytes) + " bytes",
                            "headers");
  }
  if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return respondWithError(http::status::bad_request, "malformed HTTP request: " + ec.message(), "");
  }
  if (ec) return close();  // end of stream, timeout, reset, cancelled by drain

  HttpRequest in;
  in.method = head_.method;
  in.target = head_.target;
  in.body = head_.body;
  in.peerAddress = peerAddress_;
  in.forwardedFor = head_.forwardedFor;
  in.receivedBytes = requestBytes_;
  in.peerNames = &peerNames_;
  HttpResponse out;
  try {
    server_.handler()(in, out);
  } catch (const std::exception& e) {
    spdlog::error("{}: the handler of {} {} failed: {}", server_.options().name, in.method, in.target, e.what());
    out = HttpResponse{500, "application/json", errorBody("internal error"), 0};
  } catch (...) {
    spdlog::error("{}: the handler of {} {} failed", server_.options().name, in.method, in.target);
    out = HttpResponse{500, "application/json", errorBody("internal error"), 0};
  }
  const bool keepAlive = parser_->keep_alive() && !draining_ && !server_.stopping();
  write(out, head_.version, keepAlive);
}

void Session::respondWithError(http::status status, std::string_view message, std::string_view field) {
  HttpResponse out{static_cast<int>(status), "application/json", errorBody(message, field), 0};
  write(out, 11, false);  // the rest of the stream cannot be trusted
}

void Session::write(const HttpResponse& response, unsigned version, bool keepAlive) {
  out_.clear();
  out_ += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out_ += std::to_string(response.status);
  out_.push_back(' ');
  const auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
  out_.append(reason.data(), reason.size());
  out_ += "\r\nServer: ";
  out_ += server_.options().name;
  if (!response.contentType.empty()) {
    out_ += "\r\nContent-Type: ";
    out_ += response.contentType;
  }
  out_ += "\r\nContent-Length: ";
  out_ += std::to_string(response.body.size());
  if (response.retryAfterSeconds > 0) {
    out_ += "\r\nRetry-After: ";
    out_ += std::to_string(response.retryAfterSeconds);
  }
  if (!keepAlive && version != 10) out_ += "\r\nConnection: close";
  if (keepAlive && version == 10) out_ += "\r\nConnection: keep-alive";
  out_ += "\r\n\r\n";
  if (head_.method != "HEAD") out_ += response.body;
  setDeadline(server_.options().writeTimeout);
  auto done = [self = shared_from_this(), keepAlive](error_code ec, std::size_t) { self->onWrite(ec, keepAlive); };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(out_), std::move(done));
  } else {
    asio::async_write(socket_, asio::buffer(out_), std::move(done));
  }
}

void Session::onWrite(error_code ec, bool keepAlive) {
  if (ec || !keepAlive) return close();
  readRequest();
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  socket_.close(ignored);  // completes pending operations with operation_aborted
  timer_.cancel();
}

Status Server::start() {
  std::lock_guard lock(lifecycleMu_);
  if (started_ || stopping()) return Error{"the server was already started"};
  error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec) {
    // A host name: its first address.
    asio::io_context resolverContext;
    tcp::resolver resolver(resolverContext);
    auto results = resolver.resolve(options_.address, "", ec);
    if (ec || results.empty()) {
      return Error{"cannot listen on " + options_.address + ":" + std::to_string(options_.port) +
                   ": not an IP address or a host name that resolves"};
    }
    address = results.begin()->endpoint().address();
  }
  for (std::size_t i = 0; i < options_.threads; ++i) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
    guards_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  Status listening = listen(address);
  if (!listening.ok()) {
    listeners_.clear();
    guards_.clear();
    contexts_.clear();
    return listening;
  }
  started_ = true;
  for (auto& listener : listeners_) {
    asio::post(*contexts_[listener->context], [this, l = listener.get()] { accept(*l); });
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([this, ctx = context.get()] { runIo(*ctx); });
  }
  spdlog::info("{}: listening on {}:{} ({}, {} io threads)", options_.name, options_.address, port_.load(),
               options_.tls ? "mutual TLS" : "plain HTTP", options_.threads);
  return base::Unit{};
}

Status Server::listen(const asio::ip::address& address) {
  error_code ec;
  const tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](const char* what) {
    return Error{std::string(what) + " " + options_.address + ":" + std::to_string(options_.port) + ": " + ec.message()};
  };
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t listeners = options_.reusePort ? contexts_.size() : 1;
  std::uint16_t port = options_.port;
  if (listeners > 1) {
    // SO_REUSEPORT would let us join a group another process already listens with (a second
    // server on the same port): claim the port alone first, so a taken port fails as it should.
    tcp::acceptor probe(*contexts_[0]);
    if (probe.open(endpoint.protocol(), ec)) return fail("cannot open");
    probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (probe.bind(endpoint, ec)) return fail("cannot bind");
    port = probe.local_endpoint(ec).port();
  }
  for (std::size_t i = 0; i < listeners; ++i) {
    // Owned by listeners_ from the start, so a failure destroys it before the io_contexts.
    listeners_.push_back(std::make_unique<Listener>(*contexts_[i]));
    listeners_.back()->context = i;
    auto& acceptor = listeners_.back()->acceptor;
    if (acceptor.open(endpoint.protocol(), ec)) return fail("cannot open");
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (listeners > 1) {
      // Every listener on the same port (the first bind decides the port when it is 0).
      const int on = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        ec = error_code(errno, boost::system::system_category());
        return fail("cannot set SO_REUSEPORT on");
      }
      const int cpu = static_cast<int>(i % cpus);
      (void)::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_INCOMING_CPU, &cpu, sizeof cpu);  // a hint
    }
    if (acceptor.bind(tcp::endpoint(address, port), ec)) return fail("cannot bind");
    if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) return fail("cannot listen on");
    port = acceptor.local_endpoint(ec).port();
  }
  port_ = port;
  return base::Unit{};
}

void Server::runIo(asio::io_context& context) {
  while (true) {
    try {
      context.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{}: an io thread caught: {}", options_.name, e.what());
    } catch (...) {
      spdlog::error("{}: an io thread caught an unknown exception", options_.name);
    }
  }
}

void Server::accept(Listener& listener) {
  const std::size_t context = options_.reusePort ? listener.context : listener.nextConnection++ % contexts_.size();
  listener.accepting.emplace(contexts_[context]->get_executor());
  listener.acceptor.async_accept(*listener.accepting, [this, &listener](error_code ec) {
    Socket socket = std::move(*listener.accepting);
    listener.accepting.reset();
    onAccept(listener, ec, std::move(socket));
  });
}

void Server::onAccept(Listener& listener, error_code ec, Socket socket) {
  if (stopping() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // E.g. out of file descriptors: back off briefly instead of spinning.
    spdlog::warn("{}: accept failed: {}", options_.name, ec.message());
    listener.retry.expires_after(std::chrono::milliseconds(50));
    listener.retry.async_wait([this, &listener](error_code waitEc) {
      if (!waitEc && !stopping()) accept(listener);
    });
    return;
  }
  bool admitted = true;
  {
    std::lock_guard lock(sessionsMu_);
    if (options_.maxConnections > 0 && openSessions_ >= options_.maxConnections) admitted = false;
  }
  if (!admitted) {
    const std::uint64_t refused = ++refusedConnections_;
    if (shouldLog(refused)) {
      spdlog::warn("{}: {} connections open, the limit: closed a new one ({} so far)", options_.name,
                   options_.maxConnections, refused);
    }
    error_code ignored;
    socket.close(ignored);
    return accept(listener);
  }
  try {
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(*this, std::move(socket), options_.tls ? options_.tls->current() : nullptr);
    {
      std::lock_guard lock(sessionsMu_);
      sessions_.emplace(session.get(), session);
    }
    asio::dispatch(session->executor(), [session] { session->start(); });  // inline when on its own context
  } catch (const std::exception& e) {
    spdlog::error("{}: could not take a connection: {}", options_.name, e.what());
  }
  accept(listener);
}

void Server::stop() {
  std::lock_guard lock(lifecycleMu_);
  if (!started_ || stopping_.exchange(true)) return;
  // 1. No new connections.
  for (auto& listener : listeners_) {
    std::promise<void> closed;
    asio::post(*contexts_[listener->context], [l = listener.get(), &closed] {
      error_code ignored;
      l->acceptor.close(ignored);
      l->retry.cancel();
      closed.set_value();
    });
    closed.get_future().wait();
  }
  // 2. Let each connection finish its request in progress, close idle ones.
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard sessionsLock(sessionsMu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) asio::post(s->executor(), [s] { s->drain(); });
  open.clear();  // a session's destructor is what counts it closed
  {
    std::unique_lock sessionsLock(sessionsMu_);
    if (!sessionsCv_.wait_for(sessionsLock, options_.drainTimeout, [this] { return openSessions_ == 0; })) {
      spdlog::warn("{}: {} connections still open after the drain timeout; closing them", options_.name, openSessions_);
    }
  }
  // 3. Stop the io threads; sessions still queued are destroyed with their io_context.
  guards_.clear();
  for (auto& context : contexts_) context->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  listeners_.clear();
  contexts_.clear();
  spdlog::info("{}: stopped", options_.name);
}

}  // namespace

std::unique_ptr<HttpServer> makeHttpServer(HttpServerOptions options, HttpHandler handler) {
  return std::make_unique<Server>(std::move(options), std::move(handler));
}

}  // namespace dwcp::net
