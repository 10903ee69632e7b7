// HttpTransport over cpprestsdk (the only file in kube/ that includes cpprest headers).
//
// How the cpprest traps are handled:
// - http_client_config::set_timeout is an idle timeout (the timer is reset on every socket read),
//   so a stream's client uses the caller's idleTimeout and send() uses requestTimeout.
// - Nothing here runs on a cpprest pool thread; the blocking .get() calls run on the caller's
//   thread (see the header's contract).
// - A stream reads the response body's producer/consumer buffer: wait for one byte, then take
//   whatever else is already buffered, so read() returns chunks as they arrive.
// - cpprest throws http_exception (and uri_exception, std::exception); every entry point catches
//   and turns failures into status 0 with a message that never contains credentials.
// - Redirects are not followed: the redirect follower would copy Authorization to another host.
#include "kube/http_transport.h"

#include "base/strings.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>

#include <cpprest/http_client.h>
#include <pplx/threadpool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

namespace dwcp::kube {
namespace {

namespace fs = std::filesystem;
using web::http::client::http_client;
using web::http::client::http_client_config;

// What went wrong, from the error code cpprest attaches. cpprest reports a refused connect as
// host_unreachable, so both read as "connection refused".
std::string failureKind(const std::error_code& ec) {
  if (ec == std::errc::connection_refused || ec == std::errc::host_unreachable) {
    return "connection refused";
  }
  if (ec == std::errc::timed_out) return "timeout";
  if (ec == std::errc::operation_canceled) return "cancelled";
  if (ec == std::errc::connection_reset || ec == std::errc::connection_aborted) {
    return "connection reset";
  }
  return "transport error";
}

std::string describe(const Request& request) { return request.method + " " + request.path; }

Response transportFailure(const Request& request, const std::string& kind, const std::string& what) {
  Response response;
  response.status = 0;
  response.body = kind + ": " + describe(request) + ": " + what;
  spdlog::debug("http transport: {}", response.body);
  return response;
}

// Loads the CA (replacing the system roots, as client-go does) and the client certificate into
// an SSL context. Returns "" or an error naming the field.
std::string configureTls(boost::asio::ssl::context& context, const std::string& caPem,
                         const std::string& certPem, const std::string& keyPem) {
  boost::system::error_code ec;
  if (!caPem.empty()) {
    SSL_CTX_set_cert_store(context.native_handle(), X509_STORE_new());
    context.add_certificate_authority(boost::asio::buffer(caPem), ec);
    if (ec) return "certificate-authority: not a valid PEM certificate (" + ec.message() + ")";
  }
  if (!certPem.empty()) {
    context.use_certificate_chain(boost::asio::buffer(certPem), ec);
    if (ec) return "client-certificate: not a valid PEM certificate (" + ec.message() + ")";
    context.use_private_key(boost::asio::buffer(keyPem), boost::asio::ssl::context::pem, ec);
    if (ec) return "client-key: not a valid PEM private key for the certificate (" + ec.message() + ")";
    if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
      return "client-key: does not match client-certificate";
    }
  }
  return "";
}

// tls-server-name: cpprest sends the URL host as SNI and checks the certificate against it in its
// verify callback. When a server name is configured, the context carries it (ex data) and an info
// callback, at the start of each client handshake (before the ClientHello is built), sends it as
// SNI and, unless verification is off, replaces cpprest's check by OpenSSL's own chain and
// host-name verification against that name.
void freeServerName(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int serverNameIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeServerName);
  return index;
}

void useServerNameAtHandshake(const SSL* constSsl, int where, int) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0 || SSL_is_server(constSsl)) return;
  SSL* ssl = const_cast<SSL*>(constSsl);  // OpenSSL's info callback type is const-qualified
  const auto* name = static_cast<const std::string*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), serverNameIndex()));
  if (name == nullptr || name->empty()) return;
  const bool ipLiteral = name->find_first_not_of("0123456789.") == std::string::npos ||
                         name->find(':') != std::string::npos;
  if (!ipLiteral) SSL_set_tlsext_host_name(ssl, name->c_str());  // no SNI for IP literals
  if (SSL_get_verify_mode(ssl) == SSL_VERIFY_NONE) return;  // insecure-skip-tls-verify
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (ipLiteral) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name->c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, name->c_str(), name->size());
  }
  // OpenSSL's verdict on chain and name, in place of cpprest's check against the URL host.
  SSL_set_verify(ssl, SSL_VERIFY_PEER, [](int preverified, X509_STORE_CTX*) { return preverified; });
}

// Returns "" or an error.
std::string configureServerName(boost::asio::ssl::context& context, const std::string& serverName) {
  if (serverName.empty()) return "";
  if (serverNameIndex() < 0 ||
      SSL_CTX_set_ex_data(context.native_handle(), serverNameIndex(), new std::string(serverName)) != 1) {
    return "tls-server-name: cannot attach to the TLS context";
  }
  SSL_CTX_set_info_callback(context.native_handle(), useServerNameAtHandshake);
  return "";
}

// The bearer token: static, or read from a file that rotates (projected service-account tokens
// are replaced by a symlink swap, so the mtime of the followed path changes).
class TokenSource {
 public:
  TokenSource(std::string staticToken, std::string file, const Clock& clock,
              std::chrono::seconds refreshInterval)
      : staticToken_(std::move(staticToken)), file_(std::move(file)), clock_(clock),
        refreshInterval_(refreshInterval) {}

  std::string current() {
    if (file_.empty()) return staticToken_;
    std::lock_guard lock(mu_);
    std::error_code ec;
    const auto mtime = fs::last_write_time(file_, ec);
    const auto size = ec ? 0 : fs::file_size(file_, ec);
    const bool changed = !ec && (mtime != mtime_ || size != size_);
    const bool due = !checked_ || clock_.steadyNow() - readAt_ >= refreshInterval_;
    if (changed || due) {
      readAt_ = clock_.steadyNow();
      checked_ = true;
      if (!ec) {
        mtime_ = mtime;
        size_ = size;
      }
      std::ifstream in(file_, std::ios::binary);
      std::ostringstream text;
      if (in) text << in.rdbuf();
      std::string token = std::string(base::trim(text.str()));
      if (token.empty()) {
        spdlog::warn("bearer token file {} is missing or empty; keeping the previous token", file_);
      } else {
        cached_ = std::move(token);
      }
    }
    return cached_.empty() ? staticToken_ : cached_;
  }

 private:
  const std::string staticToken_;
  const std::string file_;
  const Clock& clock_;
  const std::chrono::seconds refreshInterval_;
  std::mutex mu_;
  std::string cached_;
  bool checked_ = false;
  fs::file_time_type mtime_{};
  std::uintmax_t size_ = 0;
  Clock::SteadyTime readAt_{};
};

class HttpStream final : public Stream {
 public:
  HttpStream(std::unique_ptr<http_client> client, web::http::http_response response,
             pplx::cancellation_token_source cancel, std::string description)
      : client_(std::move(client)), response_(std::move(response)), cancel_(std::move(cancel)),
        description_(std::move(description)) {}

  ~HttpStream() override {
    // Closes the connection if the body is still open; harmless after the end.
    cancel_.cancel();
  }

  ReadResult read(std::string& out) override {
    if (cancelled_) return ReadResult::kCancelled;
    if (finished_) return *finished_;
    auto buffer = response_.body().streambuf();
    try {
      std::array<uint8_t, 16384> chunk;
      // Blocks until one byte is buffered, the body ends, or the body fails.
      size_t n = buffer.getn(chunk.data(), 1).get();
      if (cancelled_) return ReadResult::kCancelled;
      if (n == 0) return finish(ReadResult::kEnd, "end of body");
      out.append(reinterpret_cast<const char*>(chunk.data()), n);
      // Then whatever else already arrived, without waiting for more.
      for (;;) {
        const size_t available = buffer.in_avail();
        if (available == 0) break;
        n = buffer.getn(chunk.data(), std::min(available, chunk.size())).get();
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(chunk.data()), n);
      }
      return ReadResult::kData;
    } catch (const web::http::http_exception& e) {
      if (cancelled_) return ReadResult::kCancelled;
      if (e.error_code() == std::errc::timed_out) return finish(ReadResult::kIdleTimeout, e.what());
      return finish(ReadResult::kError, e.what());
    } catch (const std::exception& e) {
      if (cancelled_) return ReadResult::kCancelled;
      return finish(ReadResult::kError, e.what());
    }
  }

  void cancel() override {
    cancelled_ = true;
    cancel_.cancel();
  }

 private:
  ReadResult finish(ReadResult result, const std::string& why) {
    spdlog::debug("http stream {} ended: {}", description_, why);
    finished_ = result;
    return result;
  }

  std::unique_ptr<http_client> client_;
  web::http::http_response response_;
  pplx::cancellation_token_source cancel_;
  std::string description_;
  std::atomic<bool> cancelled_{false};
  std::optional<ReadResult> finished_;  // touched by the reading thread only
};

}  // namespace

struct HttpTransport::Impl {
  Impl(RestConfig restConfig, HttpTransportOptions transportOptions, web::uri base)
      : config(std::move(restConfig)), options(std::move(transportOptions)),
        baseUri(std::move(base)),
        token(config.token, config.tokenFile,
              options.clock ? *options.clock : RealClock::instance(), options.tokenRefreshInterval),
        client(baseUri, clientConfig(options.requestTimeout)) {}

  http_client_config clientConfig(std::chrono::seconds timeout) const {
    http_client_config c;
    c.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    c.set_max_redirects(0);
    c.set_validate_certificates(!config.insecureSkipTLSVerify);
    if (!config.caPem.empty() || !config.clientCertPem.empty() || !config.tlsServerName.empty()) {
      auto ca = std::make_shared<const std::string>(config.caPem);
      auto cert = std::make_shared<const std::string>(config.clientCertPem);
      auto key = std::make_shared<const std::string>(config.clientKeyPem);
      auto serverName = std::make_shared<const std::string>(config.tlsServerName);
      c.set_ssl_context_callback([ca, cert, key, serverName](boost::asio::ssl::context& context) {
        // Validated in create(); an error here would only come from a broken OpenSSL.
        std::string error = configureTls(context, *ca, *cert, *key);
        if (error.empty()) error = configureServerName(context, *serverName);
        if (!error.empty()) spdlog::error("http transport: TLS setup failed: {}", error);
      });
    }
    return c;
  }

  // Throws (uri_exception, std::exception) on a malformed path; callers catch.
  web::http::http_request makeRequest(const Request& request) {
    web::http::http_request message(request.method);
    message.set_request_uri(web::uri(request.path));
    for (const auto& [name, value] : request.headers) message.headers().add(name, value);
    if (!message.headers().has("Accept")) message.headers().add("Accept", "application/json");
    message.headers().add("User-Agent", options.userAgent);
    if (const std::string bearer = token.current(); !bearer.empty()) {
      message.headers().add("Authorization", "Bearer " + bearer);
    }
    if (!request.body.empty()) message.set_body(request.body, request.contentType);
    return message;
  }

  RestConfig config;
  HttpTransportOptions options;
  web::uri baseUri;
  TokenSource token;
  http_client client;  // shared by send() calls; cpprest clients are thread-safe
};

Result<std::shared_ptr<HttpTransport>> HttpTransport::create(const RestConfig& config,
                                                              HttpTransportOptions options) {
  auto invalid = [](const std::string& message) {
    return Error{0, "InvalidConfig", "http transport: " + message};
  };
  web::uri base;
  try {
    base = web::uri(config.server);
  } catch (const std::exception& e) {
    return invalid("server \"" + config.server + "\": " + e.what());
  }
  if (base.scheme() != "https" && base.scheme() != "http") {
    return invalid("server \"" + config.server + "\": scheme must be https or http");
  }
  if (Status valid = validateRestConfig(config); !valid.ok()) return invalid(valid.error().message);
  if (config.clientCertPem.empty() != config.clientKeyPem.empty()) {
    return invalid(config.clientCertPem.empty() ? "client-certificate: missing (client-key is set)"
                                                : "client-key: missing (client-certificate is set)");
  }
  try {
    boost::asio::ssl::context scratch(boost::asio::ssl::context::sslv23);
    std::string error = configureTls(scratch, config.caPem, config.clientCertPem, config.clientKeyPem);
    if (error.empty()) error = configureServerName(scratch, config.tlsServerName);
    if (!error.empty()) return invalid(error);
    auto impl = std::make_unique<Impl>(config, std::move(options), std::move(base));
    return std::shared_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
  } catch (const std::exception& e) {
    return invalid(std::string("cannot create HTTP client: ") + e.what());
  }
}

bool HttpTransport::setThreadPoolSize(size_t threads) {
  try {
    crossplat::threadpool::initialize_with_threads(threads);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpTransport::~HttpTransport() = default;

// A request with a deadline: the exchange runs as continuations on the cpprest pool and the
// caller waits on a future for at most request.timeout, then cancels it. The continuations own
// what they touch, so a late completion after the caller gave up is harmless.
Response HttpTransport::sendWithDeadline(const Request& request) {
  auto done = std::make_shared<std::promise<Response>>();
  std::future<Response> result = done->get_future();
  pplx::cancellation_token_source cancel;
  try {
    auto message = impl_->makeRequest(request);
    impl_->client.request(message, cancel.get_token())
        .then([done](web::http::http_response response) {
          const int status = response.status_code();
          return response.extract_vector().then([done, status](pplx::task<std::vector<unsigned char>> body) {
            try {
              const std::vector<unsigned char> bytes = body.get();  // completed: does not block
              done->set_value(Response{status, std::string(bytes.begin(), bytes.end())});
            } catch (...) {
              done->set_exception(std::current_exception());
            }
          });
        })
        .then([done](pplx::task<void> finished) {
          try {
            finished.get();  // completed: does not block; rethrows a failure of the request
          } catch (...) {
            try {
              done->set_exception(std::current_exception());
            } catch (const std::future_error&) {  // the body continuation already answered
            }
          }
        });
  } catch (const std::exception& e) {
    return transportFailure(request, "transport error", e.what());
  }
  if (result.wait_for(request.timeout) != std::future_status::ready) {
    cancel.cancel();
    return transportFailure(request, "timeout",
                            "no complete response within " + std::to_string(request.timeout.count()) + " ms");
  }
  try {
    Response out = result.get();
    spdlog::trace("http transport: {} -> {}", describe(request), out.status);
    return out;
  } catch (const web::http::http_exception& e) {
    return transportFailure(request, failureKind(e.error_code()), e.what());
  } catch (const std::exception& e) {
    return transportFailure(request, "transport error", e.what());
  }
}

Response HttpTransport::send(const Request& request) {
  if (request.timeout.count() > 0) return sendWithDeadline(request);
  try {
    auto message = impl_->makeRequest(request);
    web::http::http_response response = impl_->client.request(message).get();
    const std::vector<unsigned char> body = response.extract_vector().get();
    Response out;
    out.status = response.status_code();
    out.body.assign(body.begin(), body.end());
    spdlog::trace("http transport: {} -> {}", describe(request), out.status);
    return out;
  } catch (const web::http::http_exception& e) {
    return transportFailure(request, failureKind(e.error_code()), e.what());
  } catch (const std::exception& e) {
    return transportFailure(request, "transport error", e.what());
  }
}

StreamResponse HttpTransport::openStream(const Request& request, std::chrono::seconds idleTimeout) {
  StreamResponse out;
  try {
    auto client = std::make_unique<http_client>(impl_->baseUri, impl_->clientConfig(idleTimeout));
    auto message = impl_->makeRequest(request);
    pplx::cancellation_token_source cancel;
    web::http::http_response response = client->request(message, cancel.get_token()).get();
    out.response.status = response.status_code();
    if (out.response.status < 200 || out.response.status >= 300) {
      const std::vector<unsigned char> body = response.extract_vector().get();
      out.response.body.assign(body.begin(), body.end());
      return out;
    }
    out.stream = std::make_unique<HttpStream>(std::move(client), std::move(response),
                                              std::move(cancel), describe(request));
    return out;
  } catch (const web::http::http_exception& e) {
    out.response = transportFailure(request, failureKind(e.error_code()), e.what());
  } catch (const std::exception& e) {
    out.response = transportFailure(request, "transport error", e.what());
  }
  out.stream.reset();
  return out;
}

}  // namespace dwcp::kube
