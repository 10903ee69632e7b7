#include "routingapi/region_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace dwcp::routingapi {
namespace {

using routing::Error;
using routing::ErrorCode;
using routing::RegionSpec;
using routing::Result;
using routing::Status;

Error invalid(std::string field, std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(field), std::move(message)};
}

// "documents[0]" + "spec.endpoint" -> "documents[0].spec.endpoint"; a resource on its own has no prefix.
std::string at(const std::string& prefix, const std::string& field) {
  return prefix.empty() ? field : prefix + "." + field;
}

Status readString(const YAML::Node& node, const std::string& field, std::string& out) {
  if (!node.IsScalar()) return invalid(field, "must be a string");
  out = node.Scalar();
  return routing::okStatus();
}

Status readDouble(const YAML::Node& node, const std::string& field, double& out) {
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, out))
    return invalid(field, "must be a number");
  return routing::okStatus();
}

Status readBool(const YAML::Node& node, const std::string& field, bool& out) {
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, out))
    return invalid(field, "must be true or false");
  return routing::okStatus();
}

Status readPhase(const YAML::Node& node, const std::string& field, routing::RegionPhase& out) {
  std::string text;
  if (auto s = readString(node, field, text); !s.ok()) return s;
  auto phase = routing::parseRegionPhase(text);
  if (!phase) return invalid(field, "must be one of Healthy, Degraded, Failed, Draining, Disabled, Unknown");
  out = *phase;
  return routing::okStatus();
}

Status readLocation(const YAML::Node& node, const std::string& field, routing::GeoPoint& out, bool& hasLatitude,
                    bool& hasLongitude) {
  if (!node.IsMap()) return invalid(field, "must be a map with latitude and longitude");
  for (const auto& kv : node) {
    const auto key = kv.first.Scalar();
    if (key == "latitude") {
      if (auto s = readDouble(kv.second, field + ".latitude", out.latitude); !s.ok()) return s;
      hasLatitude = true;
    } else if (key == "longitude") {
      if (auto s = readDouble(kv.second, field + ".longitude", out.longitude); !s.ok()) return s;
      hasLongitude = true;
    }
  }
  return routing::okStatus();
}

// Re-labels the engine's field names ("location.latitude") with the file's path.
Error atPath(const Error& e, const std::string& prefix, bool resource) {
  std::string field = e.field;
  if (resource) {
    static const std::set<std::string> inStatus = {"healthScore"};
    if (field == "name") {
      field = "metadata.name";
    } else if (field == "costPerCpuHour") {
      field = "spec.cost.cpuHour";
    } else if (field == "capacityWeight") {
      field = "spec.capacity.cpu";
    } else if (inStatus.count(field)) {
      field = "status." + field;
    } else {
      field = "spec." + field;
    }
  } else if (field == "location.latitude" || field == "location.longitude") {
    field = field.substr(9);
  }
  return invalid(at(prefix, field), e.message);
}

Status checkedSpec(const RegionSpec& spec, const std::string& prefix, bool resource) {
  if (spec.name.empty()) return invalid(at(prefix, resource ? "metadata.name" : "name"), "is required");
  if (auto s = routing::validate(spec); !s.ok()) return atPath(s.error(), prefix, resource);
  return routing::okStatus();
}

Result<RegionSpec> parsePlain(const YAML::Node& node, const std::string& prefix) {
  if (!node.IsMap()) return invalid(prefix, "must be a map");
  RegionSpec spec;
  spec.phase = routing::RegionPhase::kHealthy;
  bool hasLatitude = false, hasLongitude = false;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string field = prefix + "." + key;
    const YAML::Node& value = kv.second;
    Status s = routing::okStatus();
    if (key == "name") {
      s = readString(value, field, spec.name);
    } else if (key == "endpoint") {
      s = readString(value, field, spec.endpoint);
    } else if (key == "latitude") {
      s = readDouble(value, field, spec.location.latitude);
      hasLatitude = true;
    } else if (key == "longitude") {
      s = readDouble(value, field, spec.location.longitude);
      hasLongitude = true;
    } else if (key == "location") {
      s = readLocation(value, field, spec.location, hasLatitude, hasLongitude);
    } else if (key == "phase") {
      s = readPhase(value, field, spec.phase);
    } else if (key == "healthScore") {
      s = readDouble(value, field, spec.healthScore);
    } else if (key == "costPerRequest") {
      s = readDouble(value, field, spec.costPerRequest);
    } else if (key == "costPerCpuHour") {
      s = readDouble(value, field, spec.costPerCpuHour);
    } else if (key == "capacityWeight") {
      s = readDouble(value, field, spec.capacityWeight);
    } else if (key == "failoverRegions") {
      if (!value.IsSequence()) {
        s = invalid(field, "must be a list of region names");
      } else {
        for (std::size_t i = 0; i < value.size() && s.ok(); ++i) {
          std::string name;
          s = readString(value[i], field + "[" + std::to_string(i) + "]", name);
          spec.failoverRegions.push_back(std::move(name));
        }
      }
    } else {
      s = invalid(field, "unknown field");
    }
    if (!s.ok()) return s.error();
  }
  if (!hasLatitude) return invalid(prefix + ".latitude", "is required");
  if (!hasLongitude) return invalid(prefix + ".longitude", "is required");
  if (auto s = checkedSpec(spec, prefix, false); !s.ok()) return s.error();
  return spec;
}

Result<RegionSpec> parseResource(const YAML::Node& doc, const std::string& prefix) {
  RegionSpec spec;
  spec.phase = routing::RegionPhase::kHealthy;
  const auto metadata = doc["metadata"];
  if (!metadata || !metadata.IsMap() || !metadata["name"]) return invalid(at(prefix, "metadata.name"), "is required");
  if (auto s = readString(metadata["name"], at(prefix, "metadata.name"), spec.name); !s.ok()) return s.error();
  const auto spec_ = doc["spec"];
  if (!spec_ || !spec_.IsMap()) return invalid(at(prefix, "spec"), "is required");
  if (auto v = spec_["endpoint"]) {
    if (auto s = readString(v, at(prefix, "spec.endpoint"), spec.endpoint); !s.ok()) return s.error();
  }
  bool hasLatitude = false, hasLongitude = false;
  if (auto v = spec_["location"]) {
    if (auto s = readLocation(v, at(prefix, "spec.location"), spec.location, hasLatitude, hasLongitude); !s.ok())
      return s.error();
  }
  if (!hasLatitude) return invalid(at(prefix, "spec.location.latitude"), "is required");
  if (!hasLongitude) return invalid(at(prefix, "spec.location.longitude"), "is required");
  if (auto cost = spec_["cost"]) {
    if (!cost.IsMap()) return invalid(at(prefix, "spec.cost"), "must be a map");
    if (auto v = cost["cpuHour"]) {
      if (auto s = readDouble(v, at(prefix, "spec.cost.cpuHour"), spec.costPerCpuHour); !s.ok()) return s.error();
    }
  }
  if (auto capacity = spec_["capacity"]) {
    if (!capacity.IsMap()) return invalid(at(prefix, "spec.capacity"), "must be a map");
    if (auto v = capacity["cpu"]) {
      if (auto s = readDouble(v, at(prefix, "spec.capacity.cpu"), spec.capacityWeight); !s.ok()) return s.error();
    }
  }
  if (auto v = spec_["enabled"]) {
    bool enabled = true;
    if (auto s = readBool(v, at(prefix, "spec.enabled"), enabled); !s.ok()) return s.error();
    if (!enabled) spec.phase = routing::RegionPhase::kDisabled;
  }
  if (auto status = doc["status"]; status && status.IsMap() && spec.phase != routing::RegionPhase::kDisabled) {
    if (auto v = status["phase"]) {
      if (auto s = readPhase(v, at(prefix, "status.phase"), spec.phase); !s.ok()) return s.error();
    }
    if (auto v = status["healthScore"]) {
      if (auto s = readDouble(v, at(prefix, "status.healthScore"), spec.healthScore); !s.ok()) return s.error();
    }
  }
  if (auto s = checkedSpec(spec, prefix, true); !s.ok()) return s.error();
  return spec;
}

bool isRegionResource(const YAML::Node& doc) {
  return doc.IsMap() && doc["kind"] && doc["kind"].IsScalar() && doc["kind"].Scalar() == "Region";
}

Status checkUnique(const std::vector<RegionSpec>& specs, const std::vector<std::string>& paths) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!names.insert(specs[i].name).second) return invalid(paths[i], "duplicate region " + specs[i].name);
  }
  return routing::okStatus();
}

}  // namespace

Result<std::vector<RegionSpec>> parseRegions(const std::string& text) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    return invalid("file", "not valid YAML or JSON at line " + std::to_string(e.mark.line + 1) + ", column " +
                               std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::vector<RegionSpec> specs;
  std::vector<std::string> paths;
  try {
    docs.erase(std::remove_if(docs.begin(), docs.end(), [](const YAML::Node& d) { return d.IsNull(); }), docs.end());
    if (docs.empty()) return invalid("regions", "the file lists no regions");
    if (std::any_of(docs.begin(), docs.end(), isRegionResource)) {
      for (std::size_t i = 0; i < docs.size(); ++i) {
        const std::string prefix = "documents[" + std::to_string(i) + "]";
        if (!isRegionResource(docs[i])) return invalid(prefix + ".kind", "must be Region");
        auto spec = parseResource(docs[i], prefix);
        if (!spec.ok()) return spec.error();
        specs.push_back(std::move(*spec));
        paths.push_back(prefix + ".metadata.name");
      }
    } else {
      if (docs.size() != 1) return invalid("documents[1]", "only one document expected for a plain region list");
      YAML::Node list = docs[0];
      if (list.IsMap()) {
        if (!list["regions"]) return invalid("regions", "is required (a list of regions)");
        list = list["regions"];
      }
      if (!list.IsSequence()) return invalid("regions", "must be a list of regions");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string prefix = "regions[" + std::to_string(i) + "]";
        auto spec = parsePlain(list[i], prefix);
        if (!spec.ok()) return spec.error();
        specs.push_back(std::move(*spec));
        paths.push_back(prefix + ".name");
      }
      if (specs.empty()) return invalid("regions", "the file lists no regions");
    }
  } catch (const YAML::Exception& e) {
    return invalid("file", std::string("unreadable: ") + e.what());
  }
  if (auto s = checkUnique(specs, paths); !s.ok()) return s.error();
  return specs;
}

Result<std::vector<RegionSpec>> loadRegionsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid("--regions", "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto specs = parseRegions(text.str());
  if (!specs.ok()) {
    auto e = specs.error();
    e.message = path + ": " + e.message;
    return e;
  }
  return specs;
}

}  // namespace dwcp::routingapi
