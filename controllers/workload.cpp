#include "controllers/workload.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "api/groupversion.h"
#include "controllers/mirror.h"
#include "kube/json_fields.h"

namespace dwcp::controllers {

using json = nlohmann::json;
using api::ConditionStatus;
using kube::stringAt;

namespace {

std::string describe(const api::WorkloadRef& ref) {
  return ref.kind.value_or("") + " " + ref.namespace_.value_or("") + "/" + ref.name.value_or("");
}

// Whether two references name the same object (the uid aside).
bool sameObject(const api::WorkloadRef& a, const api::WorkloadRef& b) {
  return a.apiVersion == b.apiVersion && a.kind == b.kind && a.namespace_ == b.namespace_ && a.name == b.name;
}

}  // namespace

std::vector<WorkloadKind> defaultWorkloadKinds() {
  return {{"kubevirt.io/v1", "VirtualMachine"}, {"v1", "ConfigMap"}, {"apps/v1", "Deployment"},
          {"apps/v1", "StatefulSet"}};
}

std::optional<kube::ReconcileResult> Workloads::ensure(const json& object, const api::VMPlacement& vm,
                                                      StatusDraft& draft, const std::string& region,
                                                      const Record& record) {
  const int64_t generation = vm.metadata.generation;
  const auto now = deps_.clock->wallNow();
  api::VMPlacementStatus& status = draft.status;
  if (region == deps_.localRegion && vm.spec.template_ && deps_.discovery) {
    const api::Condition* ready = api::findCondition(status.conditions, "WorkloadReady");
    const bool atThisGeneration = ready && ready->observedGeneration == generation;
    const bool current = atThisGeneration && ready->status == ConditionStatus::kTrue && status.workloadRef &&
                         !status.workloadRef->name.value_or("").empty();
    const bool rejected = atThisGeneration && ready->status == ConditionStatus::kFalse;
    if (!current && !rejected) {
      std::string error;
      auto planned = plan(object, vm, draft, error);
      if (!error.empty()) return kube::ReconcileResult::failure(error);
      if (planned) {
        const bool recorded = status.workloadRef && sameObject(*status.workloadRef, planned->ref);
        const std::string what = describe(planned->ref);
        // A mirror's first workload was applied with it (applyEarly), owned by it: the status names
        // it once, after this apply, rather than before.
        const bool namedFirst = status.workloadRef.has_value() || mirroredUid(vm).empty();
        if (!recorded) {
          // The template names another object than the one recorded: that one goes first.
          if (auto removed = remove(object); !removed.ok()) {
            return kube::ReconcileResult::failure("removing the previous workload: " + removed.error().toString());
          }
          status.workloadRef = planned->ref;
          draft.condition("WorkloadReady", ConditionStatus::kUnknown, "Materializing",
                          what + " is being applied in region " + deps_.localRegion, generation, now);
          if (namedFirst) {
            if (auto stop = record()) return stop;
          }
        }
        auto applied = deps_.client->patch(planned->type, *planned->ref.namespace_, *planned->ref.name, kube::PatchType::kApply,
                                           planned->workload, "", kFieldManager, true);
        if (!applied.ok()) {
          const int code = applied.error().code;
          if (code < 400 || code >= 500 || code == 409 || code == 429) {
            return kube::ReconcileResult::failure("applying spec.template: " + applied.error().toString());
          }
          if (!recorded) status.workloadRef.reset();  // nothing was created
          const std::string message = "spec.template: the API server rejected " + what + ": " + applied.error().message;
          draft.condition("WorkloadReady", ConditionStatus::kFalse, "TemplateRejected", message, generation, now);
          if (deps_.events) deps_.events->record(object, kube::EventType::kWarning, "TemplateRejected", "Materialize", message);
        } else {
          status.workloadRef->uid = applied->value("/metadata/uid"_json_pointer, std::string());
          draft.condition("WorkloadReady", ConditionStatus::kTrue, "Materialized",
                          appliedMessage(*status.workloadRef, deps_.localRegion), generation, now);
        }
      }
    }
  } else if (vm.spec.template_ && region != deps_.localRegion) {
    draft.condition("WorkloadReady", ConditionStatus::kUnknown, "RemoteRegion",
                    "the operator of region " + region + " materializes spec.template", generation, now);
  }
  return std::nullopt;
}

kube::Status Workloads::remove(const json& object) {
  static const json::json_pointer kRef("/status/workloadRef");
  if (!object.contains(kRef)) return kube::okStatus();
  const json& ref = object.at(kRef);
  const std::string name = stringAt(ref, "/name"_json_pointer);
  if (name.empty() || !deps_.discovery) return kube::okStatus();
  // A workload in another region's cluster is that region's to delete (it does when the record goes).
  if (const std::string cluster = stringAt(ref, "/cluster"_json_pointer); !cluster.empty() && cluster != deps_.localRegion) {
    return kube::okStatus();
  }
  const std::string apiVersion = stringAt(ref, "/apiVersion"_json_pointer);
  const std::string kind = stringAt(ref, "/kind"_json_pointer);
  const std::string ns = stringAt(ref, "/namespace"_json_pointer);
  const std::string vmNamespace = stringAt(object, "/metadata/namespace"_json_pointer);
  const std::string vmName = stringAt(object, "/metadata/name"_json_pointer);
  const std::string vmUid = stringAt(object, "/metadata/uid"_json_pointer);
  auto refuse = [&](const std::string& why) {
    const std::string message = "status.workloadRef " + apiVersion + " " + kind + " " + ns + "/" + name +
                                " was not deleted: " + why;
    spdlog::warn("VMPlacement {}/{}: {}", vmNamespace, vmName, message);
    if (deps_.events) deps_.events->record(object, kube::EventType::kWarning, "WorkloadRefRefused", "DeleteWorkload", message);
    return kube::okStatus();
  };
  if (ns != vmNamespace) return refuse("it is not in the VMPlacement's namespace " + vmNamespace);
  auto type = deps_.discovery->resourceFor(apiVersion, kind);
  if (!type.ok()) return type.error().isNotFound() ? kube::okStatus() : kube::Status(type.error());
  if (!type->namespaced) return refuse("kind " + kind + " is cluster-scoped");
  auto current = deps_.client->get(*type, ns, name);
  if (!current.ok()) return current.error().isNotFound() ? kube::okStatus() : kube::Status(current.error());
  const json meta = current->value("metadata", json::object());
  if (!meta.is_object()) return refuse("it has no metadata");
  const json labels = meta.value("labels", json::object());
  if (!labels.is_object() || labels.value(kPlacementLabel, json()) != vmName) {
    return refuse(std::string("its label ") + kPlacementLabel + " does not name " + vmName);
  }
  const json owners = meta.value("ownerReferences", json::array());
  const bool controlled =
      !vmUid.empty() && owners.is_array() && std::any_of(owners.begin(), owners.end(), [&](const json& owner) {
        return owner.is_object() && owner.value("uid", json()) == vmUid && owner.value("controller", json()) == true &&
               owner.value("kind", json()) == "VMPlacement";
      });
  if (!controlled) return refuse("it has no controller owner reference to this VMPlacement (uid " + vmUid + ")");
  // 409 when the object was replaced since the check: the retry checks the replacement.
  auto removed = deps_.client->remove(*type, ns, name, kube::DeletePreconditions{stringAt(*current, "/metadata/uid"_json_pointer)});
  if (!removed.ok() && !removed.error().isNotFound()) return removed.error();
  return kube::okStatus();
}

std::string appliedMessage(const api::WorkloadRef& ref, const std::string& region) {
  return describe(ref) + " applied in region " + region;
}

kube::Result<std::optional<api::WorkloadRef>> Workloads::applyEarly(const json& object, const api::VMPlacement& vm) {
  if (!vm.spec.template_ || !deps_.discovery) return std::optional<api::WorkloadRef>();
  StatusDraft scratch;
  std::string error;
  auto planned = plan(object, vm, scratch, error, /*report=*/false);  // a refusal is reported by ensure()
  if (!error.empty()) return kube::Error{0, "", error};
  if (!planned) return std::optional<api::WorkloadRef>();
  auto applied = deps_.client->patch(planned->type, *planned->ref.namespace_, *planned->ref.name, kube::PatchType::kApply,
                                     planned->workload, "", kFieldManager, true);
  if (!applied.ok()) return applied.error();
  api::WorkloadRef ref = planned->ref;
  ref.uid = applied->value("/metadata/uid"_json_pointer, std::string());
  return std::optional<api::WorkloadRef>(std::move(ref));
}

std::optional<Workloads::Plan> Workloads::plan(const json& object, const api::VMPlacement& vm, StatusDraft& draft,
                                               std::string& error, bool report) {
  const auto now = deps_.clock->wallNow();
  const int64_t generation = vm.metadata.generation;
  auto reject = [&](const char* reason, const std::string& message) -> std::optional<Plan> {
    draft.condition("WorkloadReady", ConditionStatus::kFalse, reason, message, generation, now);
    if (report && deps_.events) deps_.events->record(object, kube::EventType::kWarning, reason, "Materialize", message);
    return std::nullopt;
  };
  const json& tmpl = *vm.spec.template_;
  const std::string apiVersion = stringAt(tmpl, "/apiVersion"_json_pointer);
  const std::string kind = stringAt(tmpl, "/kind"_json_pointer);
  const auto& allowed = deps_.kinds;
  if (std::find(allowed.begin(), allowed.end(), WorkloadKind{apiVersion, kind}) == allowed.end()) {
    std::string list;
    for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k.apiVersion + " " + k.kind;
    return reject("WorkloadKindNotAllowed", "spec.template: kind " + apiVersion + " " + kind +
                                                " is not allowed (allowed: " + (list.empty() ? "none" : list) + ")");
  }
  auto type = deps_.discovery->resourceFor(apiVersion, kind);
  if (!type.ok()) {
    if (type.error().isNotFound() || type.error().code == 422) {
      return reject("UnknownKind", "spec.template: " + type.error().message);
    }
    error = "discovery of " + apiVersion + " " + kind + ": " + type.error().toString();
    return std::nullopt;
  }
  if (!type->namespaced) {
    return reject("WorkloadKindNotAllowed",
                  "spec.template: kind " + kind + " is cluster-scoped; the workload must be namespaced");
  }
  json workload = tmpl;
  json& meta = workload["metadata"];
  if (!meta.is_object()) meta = json::object();
  const std::string ns = vm.metadata.namespace_;
  if (meta.contains("namespace") && meta["namespace"] != ns) {
    return reject("TemplateRejected", "spec.template.metadata.namespace: must be empty or " + ns +
                                          " (the workload lives beside its VMPlacement)");
  }
  meta["namespace"] = ns;
  if (!meta.contains("name") || !meta["name"].is_string() || meta["name"].get<std::string>().empty()) {
    meta["name"] = vm.metadata.name;
  }
  meta["labels"][kPlacementLabel] = vm.metadata.name;
  meta["labels"][kRegionLabel] = deps_.localRegion;
  for (const char* federated : {kHomeLabel, kVMUidLabel}) {  // a mirror's workload names the VM's home and uid
    if (auto it = vm.metadata.labels.find(federated); it != vm.metadata.labels.end()) meta["labels"][federated] = it->second;
  }
  meta["annotations"]["federation.dwcp.io/epoch"] = std::to_string(draft.status.epoch.value_or(0));
  meta["ownerReferences"] = json::array({{{"apiVersion", std::string(api::kApiVersion)},
                                          {"kind", "VMPlacement"},
                                          {"name", vm.metadata.name},
                                          {"uid", vm.metadata.uid},
                                          {"controller", true},
                                          {"blockOwnerDeletion", true}}});
  const std::string name = meta["name"].get<std::string>();
  return Plan{*type, std::move(workload), api::WorkloadRef{apiVersion, kind, ns, name, std::nullopt}};
}

}  // namespace dwcp::controllers
