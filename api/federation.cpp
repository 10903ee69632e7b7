#include "api/federation.h"

#include <cmath>

#include "api/decode.h"

namespace dwcp::api {

namespace {

constexpr std::pair<RecordState, std::string_view> kRecordStateNames[] = {
    {RecordState::kReserving, "Reserving"},
    {RecordState::kPlaced, "Placed"},
};
constexpr size_t kMaxPeers = 256;

constexpr std::string_view kHeartbeatPrefix = "hb/";
constexpr std::string_view kRecordPrefix = "vm/";
constexpr std::string_view kAnswerPrefix = "resv/";

// Parses `text` as JSON, bounded in size, then decodes it with `body`; never throws.
template <class T, class Body>
kube::Result<T> decodeText(std::string_view text, std::string_view what, Body body) {
  if (text.size() > kMaxRecordBytes) {
    return kube::Error{422, "Invalid",
                       std::string(what) + ": " + std::to_string(text.size()) + " bytes, above the limit of " +
                           std::to_string(kMaxRecordBytes)};
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return kube::Error{422, "Invalid", std::string(what) + ": not valid JSON"};
  auto decoded = detail::decodeObject<T>(j, body);
  if (!decoded.ok()) {
    kube::Error error = decoded.error();
    error.message = std::string(what) + ": " + error.message;
    return error;
  }
  return decoded;
}

void checkName(detail::Decoder& d, const std::string& path, const std::string& value, bool (*valid)(std::string_view),
               const char* what) {
  if (!valid(value)) d.fail(path, std::string("must be ") + what);
}

}  // namespace

namespace detail {

static void read(Decoder& d, const json& j, const std::string& path, RecordState& out) {
  readEnum(d, j, path, out, kRecordStateNames);
}

static void read(Decoder& d, const json& j, const std::string& path, PeerLink& out) {
  Fields f(d, j, path);
  f.required("region", out.region);
  f.optional("rttMs", out.rttMs);
  f.optional("reachable", out.reachable);
  checkName(d, f.at("region"), out.region, isRegionName, "a region name");
  if (out.rttMs && (!std::isfinite(*out.rttMs) || *out.rttMs < 0)) d.fail(f.at("rttMs"), "must be a finite number >= 0");
}

static void read(Decoder& d, const json& j, const std::string& path, Heartbeat& out) {
  Fields f(d, j, path);
  f.required("region", out.region);
  f.required("sequence", out.sequence);
  f.required("sentAtMillis", out.sentAtMillis);
  f.required("phase", out.phase);
  f.required("healthScore", out.healthScore);
  f.required("allocated", out.allocated);
  f.optional("epoch", out.epoch);
  if (f.has("peers")) {
    const json& peers = j.at("peers");
    if (peers.is_array() && peers.size() > kMaxPeers) {
      d.fail(f.at("peers"), "must list at most " + std::to_string(kMaxPeers) + " peers");
    } else {
      f.optional("peers", out.peers);
    }
  }
  checkName(d, f.at("region"), out.region, isRegionName, "a region name");
  checkAtLeast(d, f.at("sequence"), out.sequence, 0);
  checkRange(d, f.at("healthScore"), out.healthScore, 0, 100);
  checkAtLeast(d, f.at("epoch"), out.epoch, 0);
  for (const auto& [name, value] : {std::pair{"cpu", out.allocated.cpu}, std::pair{"memoryMiB", out.allocated.memoryMiB},
                                    std::pair{"storageGiB", out.allocated.storageGiB}}) {
    checkAtLeast(d, join(f.at("allocated"), name), value, 0);
  }
  checkAtLeast(d, join(f.at("allocated"), "vms"), out.allocated.vms, 0);
}

static void read(Decoder& d, const json& j, const std::string& path, PlacementRecord& out) {
  Fields f(d, j, path);
  f.required("uid", out.uid);
  f.required("namespace", out.namespace_);
  f.required("name", out.name);
  f.required("home", out.home);
  f.required("region", out.region);
  f.required("state", out.state);
  f.required("epoch", out.epoch);
  f.required("spec", out.spec);
  checkName(d, f.at("uid"), out.uid, isUid, "a uid (at most 64 of 0-9, a-z and -)");
  checkName(d, f.at("namespace"), out.namespace_, isRegionName, "a namespace name");
  if (out.name.empty() || out.name.size() > 253) d.fail(f.at("name"), "must be 1 to 253 characters");
  checkName(d, f.at("home"), out.home, isRegionName, "a region name");
  checkName(d, f.at("region"), out.region, isRegionName, "a region name");
  checkAtLeast(d, f.at("epoch"), out.epoch, 0);
}

static void read(Decoder& d, const json& j, const std::string& path, ReservationAnswer& out) {
  Fields f(d, j, path);
  f.required("uid", out.uid);
  f.required("region", out.region);
  f.required("epoch", out.epoch);
  f.required("admitted", out.admitted);
  f.optional("reason", out.reason);
  f.optional("mirror", out.mirror);
  f.optional("workloadRef", out.workloadRef);
  f.optional("workloadReady", out.workloadReady);
  checkName(d, f.at("uid"), out.uid, isUid, "a uid (at most 64 of 0-9, a-z and -)");
  checkName(d, f.at("region"), out.region, isRegionName, "a region name");
  checkAtLeast(d, f.at("epoch"), out.epoch, 0);
  if (out.reason.size() > 4096) d.fail(f.at("reason"), "must be at most 4096 characters");
  if (out.mirror.size() > 253) d.fail(f.at("mirror"), "must be at most 253 characters");
}

}  // namespace detail

std::string_view toString(RecordState state) { return detail::enumName(state, kRecordStateNames); }

bool isRegionName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

bool isUid(std::string_view uid) {
  if (uid.empty() || uid.size() > 64) return false;
  for (char c : uid) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string heartbeatKey(std::string_view region) { return std::string(kHeartbeatPrefix) + std::string(region); }
std::string recordKey(std::string_view uid) { return std::string(kRecordPrefix) + std::string(uid); }
std::string answerKey(std::string_view region, std::string_view uid) {
  return std::string(kAnswerPrefix) + std::string(region) + "/" + std::string(uid);
}
std::string_view answerPrefix() { return kAnswerPrefix; }

std::optional<RecordKey> parseRecordKey(std::string_view key) {
  RecordKey out;
  if (key.starts_with(kHeartbeatPrefix)) {
    out.kind = RecordKey::Kind::kHeartbeat;
    out.region = std::string(key.substr(kHeartbeatPrefix.size()));
    if (!isRegionName(out.region)) return std::nullopt;
    return out;
  }
  if (key.starts_with(kRecordPrefix)) {
    out.kind = RecordKey::Kind::kRecord;
    out.uid = std::string(key.substr(kRecordPrefix.size()));
    if (!isUid(out.uid)) return std::nullopt;
    return out;
  }
  if (key.starts_with(kAnswerPrefix)) {
    const std::string_view rest = key.substr(kAnswerPrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    out.kind = RecordKey::Kind::kAnswer;
    out.region = std::string(rest.substr(0, slash));
    out.uid = std::string(rest.substr(slash + 1));
    if (!isRegionName(out.region) || !isUid(out.uid)) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::string serialize(const Heartbeat& heartbeat) {
  json peers = json::array();
  for (const PeerLink& peer : heartbeat.peers) {
    json p{{"region", peer.region}, {"reachable", peer.reachable}};
    detail::putOptional(p, "rttMs", peer.rttMs);
    peers.push_back(std::move(p));
  }
  json j{{"region", heartbeat.region},
         {"sequence", heartbeat.sequence},
         {"sentAtMillis", heartbeat.sentAtMillis},
         {"phase", std::string(toString(heartbeat.phase))},
         {"healthScore", heartbeat.healthScore},
         {"allocated", heartbeat.allocated},
         {"epoch", heartbeat.epoch},
         {"peers", std::move(peers)}};
  return j.dump();
}

std::string serialize(const PlacementRecord& record) {
  json j{{"uid", record.uid},       {"namespace", record.namespace_},
         {"name", record.name},     {"home", record.home},
         {"region", record.region}, {"state", std::string(toString(record.state))},
         {"epoch", record.epoch},   {"spec", record.spec}};
  return j.dump();
}

std::string serialize(const ReservationAnswer& answer) {
  json j{{"uid", answer.uid}, {"region", answer.region}, {"epoch", answer.epoch}, {"admitted", answer.admitted}};
  if (!answer.reason.empty()) j["reason"] = answer.reason;
  if (!answer.mirror.empty()) j["mirror"] = answer.mirror;
  detail::putOptional(j, "workloadRef", answer.workloadRef);
  detail::putOptional(j, "workloadReady", answer.workloadReady);
  return j.dump();
}

kube::Result<Heartbeat> parseHeartbeat(std::string_view text) {
  return decodeText<Heartbeat>(text, "heartbeat", [](detail::Decoder& d, const json& in, Heartbeat& out) {
    detail::read(d, in, "", out);
  });
}

kube::Result<PlacementRecord> parsePlacementRecord(std::string_view text) {
  return decodeText<PlacementRecord>(text, "placement record", [](detail::Decoder& d, const json& in,
                                                                  PlacementRecord& out) { detail::read(d, in, "", out); });
}

kube::Result<ReservationAnswer> parseReservationAnswer(std::string_view text) {
  return decodeText<ReservationAnswer>(text, "reservation answer", [](detail::Decoder& d, const json& in,
                                                                      ReservationAnswer& out) {
    detail::read(d, in, "", out);
  });
}

}  // namespace dwcp::api
