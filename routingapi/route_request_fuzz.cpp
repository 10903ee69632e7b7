// libFuzzer target for the POST /v1/route body parser: any bytes must yield either a request
// that renders and routes, or an error naming a field, and never crash. Build with clang
// (-fsanitize=fuzzer,address) against this file alone, or run the plain driver
// route_request_fuzz_main.cpp that replays a corpus and random mutations (CI).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engines/routing/region_table.h"
#include "engines/routing/router.h"
#include "routingapi/route_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static dwcp::routing::RegionTable* table = [] {
    auto* t = new dwcp::routing::RegionTable();
    const char* names[] = {"eu-west-1", "us-east-1", "ap-south-1"};
    const dwcp::routing::GeoPoint locations[] = {{53.35, -6.26}, {38.13, -78.45}, {19.08, 72.88}};
    std::vector<dwcp::routing::RegionSpec> specs(3);
    for (int i = 0; i < 3; ++i) {
      specs[i].name = names[i];
      specs[i].endpoint = std::string("https://") + names[i] + ".example.com";
      specs[i].location = locations[i];
      specs[i].phase = i == 2 ? dwcp::routing::RegionPhase::kFailed : dwcp::routing::RegionPhase::kHealthy;
    }
    (void)t->replaceAll(specs);
    return t;
  }();
  static dwcp::routing::Router router(*table);

  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = dwcp::routingapi::parseRouteRequest(body);
  if (!parsed.ok()) {
    if (parsed.error().field.empty()) std::abort();  // every parse error names a field
    (void)dwcp::routingapi::renderError(parsed.error().message, parsed.error().field);
    return 0;
  }
  auto decision = router.route(parsed->toEngineRequest());
  if (decision.ok()) {
    (void)dwcp::routingapi::renderDecision(*decision);
  } else if (decision.error().code == dwcp::routing::ErrorCode::kInvalidArgument) {
    std::abort();  // the parser let through something the engine rejects
  }
  return 0;
}
