// DDoS protection: per-source token buckets for requests/s and bytes/s, and a blacklist for
// blacklistDuration once a source keeps exceeding its limit (sustainedAbuse long, rejected at
// least abuseFactor x its request limit per second). Memory is bounded: 40 bytes per tracked
// source in open-addressed tables that grow up to maxTrackedSources, then evict the idlest
// sources (sampled, blacklisted ones last). Thread-safe; sources are spread over sharded locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "engines/routing/result.h"

namespace dwcp::routing {

struct RateLimiterConfig {
  double maxRequestsPerSec = 1000;        // DWCP max_requests_per_sec
  double maxBytesPerSec = 100000000;      // DWCP max_bytes_per_sec
  double burstSeconds = 1;                // bucket capacity = rate x burstSeconds
  std::chrono::seconds blacklistDuration = std::chrono::hours(1);  // DWCP blacklist_duration
  std::chrono::seconds sustainedAbuse = std::chrono::seconds(10);
  std::chrono::seconds abuseGapTolerance = std::chrono::seconds(2);  // a quieter gap ends the streak
  double abuseFactor = 1.0;               // rejections/s >= factor x maxRequestsPerSec is abuse
  std::size_t maxTrackedSources = 1 << 19;
  std::size_t shards = 64;
};

// Field names like "maxRequestsPerSec".
Status validate(const RateLimiterConfig& config);

enum class AdmissionVerdict : std::uint8_t { kAdmitted, kRateLimited, kBlacklisted, kTooLarge };

struct Admission {
  AdmissionVerdict verdict = AdmissionVerdict::kAdmitted;
  int httpStatus = 0;                   // 0 admitted; 429 limited or blacklisted; 413 too large
  std::uint32_t retryAfterSeconds = 0;  // for 429
  bool newlyBlacklisted = false;        // this request tipped the source into the blacklist
  bool admitted() const { return verdict == AdmissionVerdict::kAdmitted; }
};

class SourceRateLimiter {
 public:
  // config is assumed valid (see validate()); the clock must outlive the limiter.
  explicit SourceRateLimiter(RateLimiterConfig config = {},
                             const base::Clock& clock = base::RealClock::instance());
  ~SourceRateLimiter();

  // One request of `bytes` from `source` (e.g. the client IP address as text).
  Admission admit(std::string_view source, std::uint64_t bytes);
  // The same with a precomputed key (keyOf(source), or a packed IPv4 address).
  Admission admitKey(std::uint64_t sourceKey, std::uint64_t bytes);
  static std::uint64_t keyOf(std::string_view source);

  bool isBlacklisted(std::string_view source) const;
  std::size_t trackedSources() const;
  std::size_t blacklistedSources() const;  // scans the tables; for metrics, not the hot path
  std::size_t memoryBytes() const;          // bytes held by the source tables
  static constexpr std::size_t kBytesPerSlot = 40;
  const RateLimiterConfig& config() const { return config_; }

 private:
  struct Shard;
  std::uint32_t secondsSinceStart(std::int64_t nowNanos) const;
  Shard& shardFor(std::uint64_t mixedKey) const;

  const RateLimiterConfig config_;
  const base::Clock& clock_;
  const std::int64_t startNanos_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace dwcp::routing
