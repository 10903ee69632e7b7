// A federation in memory for the controllers' tests: one FakeReplicatedState stands for what every
// region holds once replication caught up (records, answers, heartbeats), and each region reads and
// writes it through its own FakeFederation, which writes only what that region may (its heartbeat
// and answers under its name). Nothing is delayed: tests make lag by leaving a region "not caught
// up" with another. Header-only; included by tests only. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controllers/federation.h"

namespace dwcp::controllers {

class FakeReplicatedState {
 public:
  std::map<std::string, api::PlacementRecord> records;                  // by uid
  std::map<std::pair<std::string, std::string>, api::ReservationAnswer> answers;  // (region, uid)
  std::map<std::string, Federation::Heard> heartbeats;                  // by region
  std::vector<std::string> log;  // every write, e.g. "putRecord uid-a eu-west-1 Reserving 1"
  std::mutex mu;
};

class FakeFederation final : public Federation {
 public:
  FakeFederation(FakeReplicatedState& state, std::string region) : state_(state), region_(std::move(region)) {}

  // Regions this one has caught up with (none at first).
  void setCaughtUp(const std::string& region, bool caughtUp) {
    std::lock_guard lock(state_.mu);
    if (caughtUp) {
      caughtUp_.insert(region);
    } else {
      caughtUp_.erase(region);
    }
  }
  void setLinks(std::vector<api::PeerLink> links) {
    std::lock_guard lock(state_.mu);
    links_ = std::move(links);
  }
  std::vector<std::string> log() const {
    std::lock_guard lock(state_.mu);
    return state_.log;
  }

  std::optional<Heard> heartbeat(const std::string& region) const override {
    std::lock_guard lock(state_.mu);
    auto it = state_.heartbeats.find(region);
    if (it == state_.heartbeats.end()) return std::nullopt;
    return it->second;
  }
  std::vector<api::PeerLink> links() const override {
    std::lock_guard lock(state_.mu);
    return links_;
  }
  std::chrono::milliseconds suspectAfter() const override { return std::chrono::milliseconds(1500); }

  std::optional<api::PlacementRecord> record(const std::string& uid) const override {
    std::lock_guard lock(state_.mu);
    auto it = state_.records.find(uid);
    if (it == state_.records.end()) return std::nullopt;
    return it->second;
  }
  std::vector<api::PlacementRecord> recordsIn(const std::string& region) const override {
    std::lock_guard lock(state_.mu);
    std::vector<api::PlacementRecord> out;
    for (const auto& [uid, record] : state_.records) {
      if (record.region == region) out.push_back(record);
    }
    return out;
  }
  void putRecord(const api::PlacementRecord& record) override {
    std::lock_guard lock(state_.mu);
    auto it = state_.records.find(record.uid);
    if (it != state_.records.end() && it->second == record) return;
    state_.records[record.uid] = record;
    state_.log.push_back("putRecord " + record.uid + " " + record.region + " " + std::string(api::toString(record.state)) +
                         " " + std::to_string(record.epoch));
  }
  void removeRecord(const std::string& uid) override {
    std::lock_guard lock(state_.mu);
    if (state_.records.erase(uid)) state_.log.push_back("removeRecord " + uid);
  }
  std::optional<api::ReservationAnswer> answer(const std::string& region, const std::string& uid) const override {
    std::lock_guard lock(state_.mu);
    auto it = state_.answers.find({region, uid});
    if (it == state_.answers.end()) return std::nullopt;
    return it->second;
  }
  void putAnswer(const api::ReservationAnswer& answer) override {
    std::lock_guard lock(state_.mu);
    api::ReservationAnswer mine = answer;
    mine.region = region_;
    auto& slot = state_.answers[{region_, answer.uid}];
    if (slot == mine) return;
    slot = mine;
    state_.log.push_back("putAnswer " + region_ + " " + answer.uid + " " + (answer.admitted ? "admitted" : "refused") +
                         " " + std::to_string(answer.epoch));
  }
  void removeAnswer(const std::string& uid) override {
    std::lock_guard lock(state_.mu);
    if (state_.answers.erase({region_, uid})) state_.log.push_back("removeAnswer " + region_ + " " + uid);
  }
  std::vector<std::string> answeredUids() const override {
    std::lock_guard lock(state_.mu);
    std::vector<std::string> out;
    for (const auto& [key, answer] : state_.answers) {
      if (key.first == region_) out.push_back(key.second);
    }
    return out;
  }
  bool caughtUpWith(const std::string& region) const override {
    std::lock_guard lock(state_.mu);
    return caughtUp_.count(region) > 0;
  }

 private:
  FakeReplicatedState& state_;
  const std::string region_;
  std::set<std::string> caughtUp_;
  std::vector<api::PeerLink> links_;
};

}  // namespace dwcp::controllers
