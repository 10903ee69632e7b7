#include "controllers/mirror.h"

#include <cstdio>

#include "api/groupversion.h"
#include "base/strings.h"
#include "controllers/placement_mapping.h"

namespace dwcp::controllers {

using json = nlohmann::json;

namespace {

const std::string* label(const api::VMPlacement& vm, const char* name) {
  auto it = vm.metadata.labels.find(name);
  return it == vm.metadata.labels.end() ? nullptr : &it->second;
}

}  // namespace

kube::IndexFunc vmPlacementsByUid() {
  return [](const kube::CachedObject& object) -> std::vector<std::string> {
    if (const auto* vm = object.as<api::VMPlacement>(); vm && !vm->metadata.uid.empty()) return {vm->metadata.uid};
    return {};
  };
}

kube::IndexFunc mirrorsByUid() {
  return [](const kube::CachedObject& object) -> std::vector<std::string> {
    const auto* vm = object.as<api::VMPlacement>();
    if (!vm) return {};
    std::string uid = mirroredUid(*vm);
    if (uid.empty()) return {};
    return {std::move(uid)};
  };
}

std::string mirrorHome(const api::VMPlacement& vm, const std::string& localRegion) {
  const std::string* home = label(vm, kHomeLabel);
  if (!home || home->empty() || *home == localRegion || mirroredUid(vm).empty()) return "";
  return *home;
}

std::string mirroredUid(const api::VMPlacement& vm) {
  const std::string* uid = label(vm, kVMUidLabel);
  return uid && label(vm, kHomeLabel) ? *uid : std::string();
}

int64_t mirrorEpoch(const api::VMPlacement& vm) {
  auto it = vm.metadata.annotations.find(kEpochAnnotation);
  if (it == vm.metadata.annotations.end()) return 0;
  return base::parseInt<int64_t>(it->second).value_or(0);
}

std::string mirroredName(const api::VMPlacement& vm) {
  auto it = vm.metadata.annotations.find(kVMNameAnnotation);
  return it == vm.metadata.annotations.end() ? vm.metadata.name : it->second;
}

std::string mirrorName(const api::PlacementRecord& record) {
  std::string name = record.name + "." + record.home;
  if (name.size() <= 253) return name;
  // FNV-1a of the whole name keeps two long names apart.
  uint32_t hash = 2166136261u;
  for (unsigned char c : name) hash = (hash ^ c) * 16777619u;
  char suffix[10];
  std::snprintf(suffix, sizeof suffix, "-%08x", hash);
  return name.substr(0, 253 - 9) + suffix;
}

api::VMPlacementSpec mirrorSpec(const api::PlacementRecord& record) {
  api::VMPlacementSpec spec = record.spec;
  if (spec.template_ && spec.template_->is_object()) {
    json& meta = (*spec.template_)["metadata"];
    if (!meta.is_object()) meta = json::object();
    if (!meta.contains("name") || !meta["name"].is_string() || meta["name"].get<std::string>().empty()) {
      meta["name"] = record.name;
    }
  }
  return spec;
}

placement::PlacedVM mirrorHold(const std::string& key, const std::string& region, const api::VMPlacementSpec& spec) {
  placement::PlacedVM held = toPlacedVM(key, region, spec);
  held.preemptible = false;
  return held;
}

json mirrorObject(const api::PlacementRecord& record) {
  return json{{"apiVersion", std::string(api::kApiVersion)},
              {"kind", "VMPlacement"},
              {"metadata",
               {{"name", mirrorName(record)},
                {"namespace", record.namespace_},
                {"labels", {{kHomeLabel, record.home}, {kVMUidLabel, record.uid}}},
                {"annotations", {{kEpochAnnotation, std::to_string(record.epoch)}, {kVMNameAnnotation, record.name}}}}},
              {"spec", mirrorSpec(record)}};
}

}  // namespace dwcp::controllers
