// libFuzzer target for the POST /v1/route body parser: any bytes must yield either a request
// that renders and routes, or an error naming a field, and never crash; and JsonScanner must
// accept exactly the inputs nlohmann's parser accepts (a differential check). Build with clang
// (-fsanitize=fuzzer,address) against this file alone, or run the plain driver
// route_request_fuzz_main.cpp that replays a corpus and random mutations (CI).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engines/routing/region_table.h"
#include "engines/routing/router.h"
#include <nlohmann/json.hpp>

#include "routingapi/json_scanner.h"
#include "routingapi/route_request.h"

namespace {

struct NullSax {
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(std::int64_t) { return true; }
  bool number_unsigned(std::uint64_t) { return true; }
  bool number_float(double, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool key(std::string&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
};

}  // namespace

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
  std::size_t brackets = 0;
  for (char c : body) brackets += c == '[' || c == '{';
  // JsonScanner stops at depth 64 (nlohmann has no limit), and nlohmann ends its input at a NUL
  // byte, taking "{}\0garbage" for "{}" (JsonScanner rejects it): those inputs are not compared.
  if (brackets < 60 && body.find('\0') == std::string_view::npos) {
    NullSax sax;
    const bool ours = dwcp::routingapi::JsonScanner<NullSax>(body, sax).run();
    if (ours != nlohmann::json::accept(body)) {
      std::fprintf(stderr, "JsonScanner %s, nlohmann %s: %s\n", ours ? "accepts" : "rejects", ours ? "rejects" : "accepts",
                   nlohmann::json(std::string(body)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace).c_str());
      std::abort();
    }
  }
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
