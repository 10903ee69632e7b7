#include "controllers/cached_types.h"

namespace dwcp::controllers {

using json = nlohmann::json;

kube::Decoder vmPlacementDecoder() {
  return [](const json& object, std::string& error) -> kube::ObjectPtr {
    auto parsed = api::parseVMPlacement(object);
    if (!parsed.ok() && object.contains("status")) {
      json withoutStatus = object;
      withoutStatus.erase("status");
      if (auto specOnly = api::parseVMPlacement(withoutStatus); specOnly.ok()) parsed = std::move(specOnly);
    }
    if (!parsed.ok()) {
      error = parsed.error().message;
      return nullptr;
    }
    return std::make_shared<const kube::TypedObject<api::VMPlacement>>(kube::CachedObject::headerOf(object),
                                                                       std::move(parsed).value());
  };
}

kube::Decoder regionDecoder() { return kube::typedDecoder<api::Region>(api::parseRegion); }

}  // namespace dwcp::controllers
