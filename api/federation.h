// What the operators of the regions replicate to each other (federation/ carries it; controllers
// read and write it through controllers/federation.h). Each record is one JSON value under one key
// of the replicated state, written by one region only, so no two regions ever write the same key:
//
//   hb/<region>           Heartbeat          by <region>, every federation.heartbeat_interval
//   vm/<uid>              PlacementRecord    by the VM's home region (where its VMPlacement lives)
//   resv/<region>/<uid>   ReservationAnswer  by <region>, answering a record that places the VM there
//
// A record names the region it is placed in; that region alone admits or refuses it against its own
// capacity, and says so in its answer. The parse functions treat the text as hostile (it comes from
// a peer): its size is bounded before it is parsed, every field is type- and range-checked, and the
// Error (422 Invalid) names the field. They never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "api/region.h"
#include "api/vmplacement.h"
#include "kube/result.h"

namespace dwcp::api {

// A record's JSON text above this is refused before it is parsed.
inline constexpr size_t kMaxRecordBytes = 512 * 1024;

// One peer as the heartbeat's sender sees it.
struct PeerLink {
  std::string region;
  std::optional<double> rttMs;  // smoothed round trip of the peer link, when measured
  bool reachable = false;       // the last exchange with it succeeded
  bool operator==(const PeerLink&) const = default;
};

struct Heartbeat {
  std::string region;
  int64_t sequence = 0;      // +1 per beat of one run of the region's operator
  int64_t sentAtMillis = 0;  // the sender's wall clock, Unix milliseconds
  RegionPhase phase = RegionPhase::kUnknown;
  double healthScore = 0;    // 0..100
  RegionResources allocated;
  int64_t epoch = 0;
  std::vector<PeerLink> peers;  // by region name
  bool operator==(const Heartbeat&) const = default;
};

enum class RecordState {
  kReserving,  // the home asks `region` to admit the VM
  kPlaced,     // `region` admitted it and the home's status says so
};
std::string_view toString(RecordState state);

struct PlacementRecord {
  std::string uid;  // the home VMPlacement's metadata.uid
  std::string namespace_;
  std::string name;
  std::string home;    // the region whose cluster holds the VMPlacement
  std::string region;  // where it is placed (or being reserved)
  RecordState state = RecordState::kReserving;
  int64_t epoch = 0;  // the placement's epoch: an answer is for one epoch
  VMPlacementSpec spec;  // what the placed region needs to run it (and a survivor to re-create it)
  bool operator==(const PlacementRecord&) const = default;
};

struct ReservationAnswer {
  std::string uid;
  std::string region;  // the answering region
  int64_t epoch = 0;   // the record epoch this answers
  bool admitted = false;
  std::string reason;  // why it was refused, or how it was admitted
  std::string mirror;  // the VMPlacement that holds the capacity in `region`'s cluster (namespace of the record)
  std::optional<WorkloadRef> workloadRef;    // the workload made there, cluster set to `region`
  std::optional<Condition> workloadReady;    // that VMPlacement's WorkloadReady condition
  bool operator==(const ReservationAnswer&) const = default;
};

// Keys. A region name is a DNS-1123 label (what a Region's metadata.name may be: at most 63
// characters), a uid at most 64 characters of [0-9a-z-].
std::string heartbeatKey(std::string_view region);
std::string recordKey(std::string_view uid);
std::string answerKey(std::string_view region, std::string_view uid);
std::string_view answerPrefix();  // "resv/"

struct RecordKey {
  enum class Kind { kHeartbeat, kRecord, kAnswer } kind = Kind::kHeartbeat;
  std::string region;  // heartbeat, answer
  std::string uid;     // record, answer
};
// nullopt for a key that is not one of the three forms (or names an invalid region or uid).
std::optional<RecordKey> parseRecordKey(std::string_view key);
bool isRegionName(std::string_view name);
bool isUid(std::string_view uid);

std::string serialize(const Heartbeat& heartbeat);
std::string serialize(const PlacementRecord& record);
std::string serialize(const ReservationAnswer& answer);
kube::Result<Heartbeat> parseHeartbeat(std::string_view text);
kube::Result<PlacementRecord> parsePlacementRecord(std::string_view text);
kube::Result<ReservationAnswer> parseReservationAnswer(std::string_view text);

}  // namespace dwcp::api
