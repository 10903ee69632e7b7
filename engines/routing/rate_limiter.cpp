#include "engines/routing/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace dwcp::routing {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr double kMaxLoadFactor = 0.75;
constexpr std::size_t kInitialSlots = 16;
constexpr int kEvictionSample = 32;

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDULL;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ULL;
  return x ^ (x >> 33);
}

std::size_t fastRange(std::uint64_t hash, std::size_t n) {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(hash) * n) >> 64);
}

// One tracked source. key 0 marks an empty slot. Times in seconds since start + 1 (0 = none).
struct Entry {
  std::uint64_t key = 0;
  std::int64_t lastRefillNanos = 0;
  float requestTokens = 0;
  float byteTokens = 0;
  std::uint32_t abuseStartSec = 0;
  std::uint32_t lastViolationSec = 0;
  std::uint32_t rejectionsInStreak = 0;
  std::uint32_t blacklistedUntilSec = 0;
};
static_assert(sizeof(Entry) == SourceRateLimiter::kBytesPerSlot);

}  // namespace

// An open-addressed (linear probing, backward-shift deletion) table of sources.
struct SourceRateLimiter::Shard {
  mutable std::mutex mu;
  std::vector<Entry> slots;
  std::size_t size = 0;
  std::size_t maxEntries = 0;
  std::size_t maxSlots = 0;
  std::size_t evictionHand = 0;

  std::size_t home(std::uint64_t mixed) const { return fastRange(mixed * 0x9E3779B97F4A7C15ULL, slots.size()); }
  std::size_t next(std::size_t i) const { return i + 1 == slots.size() ? 0 : i + 1; }

  Entry* find(std::uint64_t mixed) {
    for (std::size_t i = home(mixed);; i = next(i)) {
      if (slots[i].key == mixed) return &slots[i];
      if (slots[i].key == 0) return nullptr;
    }
  }

  Entry& insertNew(std::uint64_t mixed) {
    std::size_t i = home(mixed);
    while (slots[i].key != 0) i = next(i);
    slots[i] = Entry{};
    slots[i].key = mixed;
    ++size;
    return slots[i];
  }

  void grow(std::size_t newSlots) {
    std::vector<Entry> old = std::move(slots);
    slots.assign(newSlots, Entry{});
    size = 0;
    for (const auto& e : old) {
      if (e.key != 0) insertNew(e.key) = e;
    }
  }

  void erase(std::size_t i) {
    std::size_t j = i;
    while (true) {
      j = next(j);
      if (slots[j].key == 0) break;
      const std::size_t k = home(slots[j].key);
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots[i] = slots[j];
      i = j;
    }
    slots[i] = Entry{};
    --size;
  }

  // Sampled LRU: among the next occupied slots from the hand, drop the one idle longest,
  // preferring sources that are not blacklisted.
  void evictOne(std::uint32_t nowSec) {
    std::size_t victim = slots.size();
    bool victimBlacklisted = true;
    std::int64_t victimIdle = 0;
    int seen = 0;
    for (std::size_t step = 0; step < slots.size() && seen < kEvictionSample; ++step) {
      const std::size_t i = evictionHand;
      evictionHand = next(evictionHand);
      const Entry& e = slots[i];
      if (e.key == 0) continue;
      ++seen;
      const bool blacklisted = e.blacklistedUntilSec > nowSec;
      const std::int64_t lastActive = blacklisted ? e.blacklistedUntilSec : e.lastRefillNanos;
      if (victim == slots.size() || (victimBlacklisted && !blacklisted) ||
          (victimBlacklisted == blacklisted && lastActive < victimIdle)) {
        victim = i;
        victimBlacklisted = blacklisted;
        victimIdle = lastActive;
      }
    }
    if (victim != slots.size()) erase(victim);
  }

  Entry& findOrInsert(std::uint64_t mixed, std::uint32_t nowSec, bool& inserted) {
    if (Entry* e = find(mixed)) {
      inserted = false;
      return *e;
    }
    inserted = true;
    if (static_cast<double>(size + 1) > kMaxLoadFactor * static_cast<double>(slots.size()) &&
        slots.size() < maxSlots) {
      grow(std::min(slots.size() * 2, maxSlots));
    }
    if (size >= maxEntries) evictOne(nowSec);
    return insertNew(mixed);
  }
};

Status validate(const RateLimiterConfig& config) {
  auto invalid = [](std::string field, std::string message) {
    return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
  };
  if (!std::isfinite(config.maxRequestsPerSec) || config.maxRequestsPerSec <= 0)
    return invalid("maxRequestsPerSec", "must be > 0");
  if (!std::isfinite(config.maxBytesPerSec) || config.maxBytesPerSec <= 0)
    return invalid("maxBytesPerSec", "must be > 0");
  if (!std::isfinite(config.burstSeconds) || config.burstSeconds <= 0 ||
      config.maxRequestsPerSec * config.burstSeconds < 1)
    return invalid("burstSeconds", "must be > 0 and allow at least one request");
  if (config.blacklistDuration.count() < 0) return invalid("blacklistDuration", "must be >= 0");
  if (config.sustainedAbuse.count() < 0) return invalid("sustainedAbuse", "must be >= 0");
  if (config.abuseGapTolerance.count() < 1) return invalid("abuseGapTolerance", "must be >= 1s");
  if (!std::isfinite(config.abuseFactor) || config.abuseFactor < 0) return invalid("abuseFactor", "must be >= 0");
  if (config.maxTrackedSources == 0) return invalid("maxTrackedSources", "must be > 0");
  if (config.shards == 0 || config.shards > 4096) return invalid("shards", "must be within [1, 4096]");
  return okStatus();
}

SourceRateLimiter::SourceRateLimiter(RateLimiterConfig config, const base::Clock& clock)
    : config_(config), clock_(clock), startNanos_(clock.steadyNanos()) {
  const std::size_t shardCount = std::max<std::size_t>(1, std::min(config_.shards, config_.maxTrackedSources));
  const std::size_t perShard = (config_.maxTrackedSources + shardCount - 1) / shardCount;
  for (std::size_t i = 0; i < shardCount; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->maxEntries = perShard;
    shard->maxSlots = std::max(perShard + 1, static_cast<std::size_t>(std::ceil(perShard / kMaxLoadFactor)));
    shard->slots.assign(std::min(kInitialSlots, shard->maxSlots), Entry{});
    shards_.push_back(std::move(shard));
  }
}

SourceRateLimiter::~SourceRateLimiter() = default;

std::uint64_t SourceRateLimiter::keyOf(std::string_view source) {
  std::uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a, then mixed by the shard lookup
  for (unsigned char c : source) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

std::uint32_t SourceRateLimiter::secondsSinceStart(std::int64_t nowNanos) const {
  return static_cast<std::uint32_t>(std::max<std::int64_t>(0, nowNanos - startNanos_) / kNanosPerSecond) + 1;
}

SourceRateLimiter::Shard& SourceRateLimiter::shardFor(std::uint64_t mixedKey) const {
  return *shards_[fastRange(mixedKey, shards_.size())];
}

Admission SourceRateLimiter::admit(std::string_view source, std::uint64_t bytes) {
  return admitKey(keyOf(source), bytes);
}

Admission SourceRateLimiter::admitKey(std::uint64_t sourceKey, std::uint64_t bytes) {
  const std::uint64_t mixed = mix(sourceKey) | 1;  // never 0, the empty-slot marker
  const std::int64_t now = clock_.steadyNanos();
  const std::uint32_t nowSec = secondsSinceStart(now);
  const double requestCapacity = config_.maxRequestsPerSec * config_.burstSeconds;
  const double byteCapacity = config_.maxBytesPerSec * config_.burstSeconds;
  if (static_cast<double>(bytes) > byteCapacity) {
    return Admission{AdmissionVerdict::kTooLarge, 413, 0, false};
  }

  Shard& shard = shardFor(mixed);
  std::lock_guard lock(shard.mu);
  bool inserted = false;
  Entry& e = shard.findOrInsert(mixed, nowSec, inserted);
  if (inserted || e.blacklistedUntilSec != 0) {
    if (!inserted && e.blacklistedUntilSec > nowSec) {
      return Admission{AdmissionVerdict::kBlacklisted, 429, e.blacklistedUntilSec - nowSec, false};
    }
    // New source, or its blacklisting expired: start afresh with full buckets.
    const std::uint64_t key = e.key;
    e = Entry{};
    e.key = key;
    e.lastRefillNanos = now;
    e.requestTokens = static_cast<float>(requestCapacity);
    e.byteTokens = static_cast<float>(byteCapacity);
  }
  if (now > e.lastRefillNanos) {
    const double elapsedSeconds = static_cast<double>(now - e.lastRefillNanos) / kNanosPerSecond;
    e.requestTokens = static_cast<float>(
        std::min(requestCapacity, e.requestTokens + elapsedSeconds * config_.maxRequestsPerSec));
    e.byteTokens =
        static_cast<float>(std::min(byteCapacity, e.byteTokens + elapsedSeconds * config_.maxBytesPerSec));
    e.lastRefillNanos = now;
  }
  const double byteNeed = static_cast<double>(bytes);
  if (e.requestTokens >= 1.0f && e.byteTokens >= byteNeed) {
    e.requestTokens -= 1.0f;
    e.byteTokens = static_cast<float>(e.byteTokens - byteNeed);
    return Admission{};
  }

  // Rejected: extend or start the abuse streak, and blacklist a sustained one.
  if (e.abuseStartSec == 0 || nowSec - e.lastViolationSec > config_.abuseGapTolerance.count()) {
    e.abuseStartSec = nowSec;
    e.rejectionsInStreak = 0;
  }
  e.lastViolationSec = nowSec;
  if (e.rejectionsInStreak < UINT32_MAX) ++e.rejectionsInStreak;
  const std::uint32_t streakSeconds = nowSec - e.abuseStartSec;
  if (streakSeconds >= config_.sustainedAbuse.count() && config_.blacklistDuration.count() > 0 &&
      e.rejectionsInStreak >= config_.abuseFactor * config_.maxRequestsPerSec * std::max<std::uint32_t>(1, streakSeconds)) {
    const auto duration = static_cast<std::uint32_t>(
        std::min<std::int64_t>(config_.blacklistDuration.count(), UINT32_MAX - nowSec - 1));
    e.blacklistedUntilSec = nowSec + std::max<std::uint32_t>(1, duration);
    return Admission{AdmissionVerdict::kBlacklisted, 429, e.blacklistedUntilSec - nowSec, true};
  }
  const double waitRequests = (1.0 - e.requestTokens) / config_.maxRequestsPerSec;
  const double waitBytes = (byteNeed - e.byteTokens) / config_.maxBytesPerSec;
  const auto retryAfter = static_cast<std::uint32_t>(std::ceil(std::max({waitRequests, waitBytes, 1.0})));
  return Admission{AdmissionVerdict::kRateLimited, 429, retryAfter, false};
}

bool SourceRateLimiter::isBlacklisted(std::string_view source) const {
  const std::uint64_t mixed = mix(keyOf(source)) | 1;
  const std::uint32_t nowSec = secondsSinceStart(clock_.steadyNanos());
  Shard& shard = shardFor(mixed);
  std::lock_guard lock(shard.mu);
  const Entry* e = shard.find(mixed);
  return e != nullptr && e->blacklistedUntilSec > nowSec;
}

std::size_t SourceRateLimiter::trackedSources() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    total += shard->size;
  }
  return total;
}

std::size_t SourceRateLimiter::blacklistedSources() const {
  const std::uint32_t nowSec = secondsSinceStart(clock_.steadyNanos());
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    for (const auto& e : shard->slots) total += (e.key != 0 && e.blacklistedUntilSec > nowSec) ? 1 : 0;
  }
  return total;
}

std::size_t SourceRateLimiter::memoryBytes() const {
  std::size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mu);
    total += shard->slots.capacity() * sizeof(Entry);
  }
  return total;
}

}  // namespace dwcp::routing
