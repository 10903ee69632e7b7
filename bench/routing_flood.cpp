// Flood benchmark driver for the routing API (issue 5), used by bench/routing_http.sh:
//   bench_routing_flood --port P [--seconds 10] [--limit 100] [--clients 20] [--client-rate 50]
//                       [--flood-factor 100] [--flood-connections 4]
// One source (loopback address 127.0.0.2) sends flood-factor x its per-source limit while
// `clients` well-behaved sources (127.0.1.1, 127.0.1.2, ...) send client-rate requests/s each
// (below the limit) on their own keep-alive connections. The router limits by the TCP peer, so
// each source binds its own loopback address before connecting. Well-behaved latency is measured
// from each request's scheduled send time (open loop, no coordinated omission). Prints one JSON object.
//   bench_routing_flood --port P --load [--seconds 10] [--connections 16]
// is a closed-loop throughput run (each connection sends its next request when the answer
// arrives), for machines without wrk: from 127.0.0.1 with X-Forwarded-For cycling 256 addresses
// per connection, so a router that trusts 127.0.0.1 as a proxy spreads the requests over many
// sources. Loopback only; every run is bounded in time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kFlooderSource = "127.0.0.2";

struct Options {
  int port = 0;
  double seconds = 10;
  double limit = 100;
  int clients = 20;
  double clientRate = 50;
  double floodFactor = 100;
  int floodConnections = 4;
  bool load = false;
  int connections = 16;
};

// A keep-alive HTTP/1.1 connection from `source` (a 127.0.0.0/8 address) to 127.0.0.1 with
// just enough parsing for our answers.
class Connection {
 public:
  explicit Connection(int port, const std::string& source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      std::fprintf(stderr, "bench_routing_flood: cannot bind source address %s\n", source.c_str());
      close();
      return;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
  }
  ~Connection() { close(); }
  bool ok() const { return fd_ >= 0; }

  // Returns the status code, or -1 when the connection failed (it is then closed).
  int post(const std::string& request) {
    if (fd_ < 0) return -1;
    std::size_t sent = 0;
    while (sent < request.size()) {
      const auto n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return fail();
      sent += static_cast<std::size_t>(n);
    }
    // Headers, then Content-Length bytes of body.
    std::size_t headerEnd;
    while ((headerEnd = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return fail();
    }
    const int status = std::atoi(buffer_.c_str() + 9);
    std::size_t contentLength = 0;
    const auto cl = buffer_.find("Content-Length: ");
    if (cl != std::string::npos && cl < headerEnd) contentLength = std::strtoul(buffer_.c_str() + cl + 16, nullptr, 10);
    const bool closes = buffer_.find("Connection: close") < headerEnd;
    while (buffer_.size() < headerEnd + 4 + contentLength) {
      if (!fill()) return fail();
    }
    buffer_.erase(0, headerEnd + 4 + contentLength);
    if (closes) close();
    return status;
  }

 private:
  bool fill() {
    char chunk[16384];
    const auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fail() {
    close();
    return -1;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
  std::string buffer_;
};

std::string routeRequest(const std::string& clientAddress, double lat, double lon, bool forwarded = false) {
  char body[256];
  std::snprintf(body, sizeof body,
                R"({"clientAddress":"%s","location":{"latitude":%.2f,"longitude":%.2f},"trafficClass":"interactive","requestBytes":1024})",
                clientAddress.c_str(), lat, lon);
  return "POST /v1/route HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         (forwarded ? "X-Forwarded-For: " + clientAddress + "\r\n" : std::string()) +
         "Content-Length: " + std::to_string(std::strlen(body)) + "\r\n\r\n" + body;
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

int runFlood(const Options& o) {
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::mutex mu;
  std::vector<double> latenciesMs;
  std::atomic<long> goodSent{0}, goodOk{0}, goodOther{0}, floodSent{0}, floodOk{0}, flood429{0}, floodOther{0};

  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      const std::string address = "198.51.100." + std::to_string(1 + c % 250);
      const std::string source = "127.0." + std::to_string(1 + c / 250) + "." + std::to_string(1 + c % 250);
      const std::string request = routeRequest(address, -40 + c * 3.7, -170 + c * 17.0);
      auto conn = std::make_unique<Connection>(o.port, source);
      std::vector<double> mine;
      const auto interval = std::chrono::duration<double>(1.0 / o.clientRate);
      // Stagger the clients over one interval.
      auto next = start + std::chrono::duration_cast<Clock::duration>(interval * (static_cast<double>(c) / o.clients));
      long sent = 0, ok = 0, other = 0;
      while (next < end) {
        std::this_thread::sleep_until(next);
        if (!conn->ok()) conn = std::make_unique<Connection>(o.port, source);
        const int status = conn->post(request);
        const auto done = Clock::now();
        ++sent;
        if (status == 200) {
          ++ok;
        } else {
          ++other;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(done - next).count());
        next += std::chrono::duration_cast<Clock::duration>(interval);
      }
      goodSent += sent;
      goodOk += ok;
      goodOther += other;
      std::lock_guard lock(mu);
      latenciesMs.insert(latenciesMs.end(), mine.begin(), mine.end());
    });
  }
  const double floodRate = o.limit * o.floodFactor;
  for (int f = 0; f < o.floodConnections; ++f) {
    threads.emplace_back([&] {
      const std::string request = routeRequest("203.0.113.66", 10, 10);
      auto conn = std::make_unique<Connection>(o.port, kFlooderSource);
      const auto interval = std::chrono::duration<double>(o.floodConnections / floodRate);
      auto next = start;
      while (next < end) {
        if (Clock::now() < next) std::this_thread::sleep_until(next);
        if (!conn->ok()) conn = std::make_unique<Connection>(o.port, kFlooderSource);
        const int status = conn->post(request);
        ++floodSent;
        if (status == 200) {
          ++floodOk;
        } else if (status == 429) {
          ++flood429;
        } else {
          ++floodOther;
        }
        next += std::chrono::duration_cast<Clock::duration>(interval);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double p50 = percentile(latenciesMs, 0.50), p99 = percentile(latenciesMs, 0.99),
               p999 = percentile(latenciesMs, 0.999), max = latenciesMs.empty() ? 0 : latenciesMs.back();
  const double successRate = goodSent > 0 ? static_cast<double>(goodOk) / static_cast<double>(goodSent) : 0;
  std::printf(
      "{\"benchmark\": \"routing_flood\", \"seconds\": %.1f, \"limitPerSourceRps\": %.0f,\n"
      " \"wellBehaved\": {\"clients\": %d, \"ratePerClientRps\": %.0f, \"sent\": %ld, \"ok\": %ld, \"failed\": %ld, "
      "\"successRate\": %.5f, \"p50Ms\": %.3f, \"p99Ms\": %.3f, \"p999Ms\": %.3f, \"maxMs\": %.3f},\n"
      " \"flooder\": {\"targetRps\": %.0f, \"achievedRps\": %.0f, \"sent\": %ld, \"ok\": %ld, \"rejected429\": %ld, "
      "\"other\": %ld},\n"
      " \"goals\": {\"successRateAtLeast\": 0.999, \"p99MsBelow\": 5, \"met\": %s}}\n",
      o.seconds, o.limit, o.clients, o.clientRate, goodSent.load(), goodOk.load(), goodOther.load(), successRate, p50,
      p99, p999, max, floodRate, static_cast<double>(floodSent) / o.seconds, floodSent.load(), floodOk.load(),
      flood429.load(), floodOther.load(), successRate >= 0.999 && p99 < 5 ? "true" : "false");
  return 0;
}

int runLoad(const Options& o) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::mutex mu;
  std::vector<double> latenciesMs;
  std::atomic<long> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      // 256 forwarded sources per connection, cycled, so the per-source limits do not throttle
      // the run (the router must trust 127.0.0.1 as a proxy).
      std::vector<std::string> requests;
      for (int i = 0; i < 256; ++i) {
        const int id = c * 256 + i;
        requests.push_back(routeRequest("10." + std::to_string(id / 65536) + "." + std::to_string((id / 256) % 256) +
                                            "." + std::to_string(id % 256),
                                        -60 + (id * 37) % 130, -180 + (id * 97) % 360, true));
      }
      Connection conn(o.port);
      std::vector<double> mine;
      mine.reserve(1 << 16);
      long myOk = 0, myFailed = 0;
      while (Clock::now() < end && conn.ok()) {
        const auto t0 = Clock::now();
        const int status = conn.post(requests[mine.size() % requests.size()]);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        (status == 200 ? myOk : myFailed)++;
      }
      ok += myOk;
      failed += myFailed;
      std::lock_guard lock(mu);
      latenciesMs.insert(latenciesMs.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"benchmark\": \"routing_load\", \"connections\": %d, \"seconds\": %.1f, \"requestsPerSec\": %.0f, "
              "\"ok\": %ld, \"failed\": %ld, \"p50Ms\": %.3f, \"p99Ms\": %.3f}\n",
              o.connections, elapsed, static_cast<double>(ok + failed) / elapsed, ok.load(), failed.load(),
              percentile(latenciesMs, 0.5), percentile(latenciesMs, 0.99));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (arg == "--port") o.port = std::atoi(next());
    else if (arg == "--seconds") o.seconds = std::atof(next());
    else if (arg == "--limit") o.limit = std::atof(next());
    else if (arg == "--clients") o.clients = std::atoi(next());
    else if (arg == "--client-rate") o.clientRate = std::atof(next());
    else if (arg == "--flood-factor") o.floodFactor = std::atof(next());
    else if (arg == "--flood-connections") o.floodConnections = std::atoi(next());
    else if (arg == "--load") o.load = true;
    else if (arg == "--connections") o.connections = std::atoi(next());
    else {
      std::fprintf(stderr, "bench_routing_flood: unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  // Bounded: loopback only, at most 60 s, a few hundred connections.
  if (o.port <= 0 || o.port > 65535 || o.seconds <= 0 || o.seconds > 60 || o.clients < 1 || o.clients > 500 ||
      o.clientRate <= 0 || o.floodConnections < 1 || o.floodConnections > 64 || o.connections < 1 ||
      o.connections > 256) {
    std::fprintf(stderr, "bench_routing_flood: --port required; --seconds (0, 60], --clients [1, 500], "
                         "--connections [1, 256]\n");
    return 2;
  }
  return o.load ? runLoad(o) : runFlood(o);
}
