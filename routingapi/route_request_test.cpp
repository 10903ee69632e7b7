#include "routingapi/route_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "routingapi/json_scanner.h"

namespace dwcp::routingapi {
namespace {

using routing::Algorithm;
using routing::TrafficClass;

struct BadCase {
  const char* name;
  std::string body;
  std::string field;  // expected Error::field
  std::string messagePart;
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ParseRouteRequestBadTest : public testing::TestWithParam<BadCase> {};

TEST_P(ParseRouteRequestBadTest, NamesTheField) {
  const auto& c = GetParam();
  auto parsed = parseRouteRequest(c.body);
  ASSERT_FALSE(parsed.ok()) << c.body;
  EXPECT_EQ(parsed.error().code, routing::ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().field, c.field) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find(c.messagePart), std::string::npos) << parsed.error().message;
}

const std::string kLoc = R"("location":{"latitude":1,"longitude":2})";

INSTANTIATE_TEST_SUITE_P(
    Table, ParseRouteRequestBadTest,
    testing::Values(
        BadCase{"empty", "", "body", "empty body"},
        BadCase{"malformed", R"({"location":)", "body", "malformed JSON"},
        BadCase{"trailing_garbage", "{" + kLoc + "} x", "body", "malformed JSON"},
        BadCase{"not_object", "[1,2]", "body", "must be a JSON object"},
        BadCase{"too_deep", std::string(100, '[') + std::string(100, ']'), "body", "nested too deeply"},
        BadCase{"no_source", R"({"trafficClass":"bulk"})", "location", "clientAddress or location is required"},
        BadCase{"lat_missing", R"({"location":{"longitude":2}})", "location.latitude", "is required"},
        BadCase{"lon_missing", R"({"location":{"latitude":2}})", "location.longitude", "is required"},
        BadCase{"lat_high", R"({"location":{"latitude":90.5,"longitude":2}})", "location.latitude", "[-90, 90]"},
        BadCase{"lat_low", R"({"location":{"latitude":-91,"longitude":2}})", "location.latitude", "[-90, 90]"},
        BadCase{"lon_high", R"({"location":{"latitude":1,"longitude":180.01}})", "location.longitude", "[-180, 180]"},
        BadCase{"lat_string", R"({"location":{"latitude":"1","longitude":2}})", "location.latitude",
                "must be a number, not a string"},
        BadCase{"lat_null", R"({"location":{"latitude":null,"longitude":2}})", "location.latitude", "not null"},
        BadCase{"lat_overflow", R"({"location":{"latitude":1e400,"longitude":2}})", "body", "malformed JSON"},
        BadCase{"location_array", R"({"location":[1,2]})", "location", "must be an object, not an array"},
        BadCase{"location_unknown", R"({"location":{"latitude":1,"longitude":2,"alt":3}})", "location.alt",
                "unknown field"},
        BadCase{"address_bad", R"({"clientAddress":"300.1.1.1"})", "clientAddress", "IPv4 or IPv6"},
        BadCase{"address_number", R"({"clientAddress":17})", "clientAddress", "must be a string"},
        BadCase{"address_long", R"({"clientAddress":")" + std::string(100, '1') + R"("})", "clientAddress",
                "longer than"},
        BadCase{"class_unknown", "{" + kLoc + R"(,"trafficClass":"gold"})", "trafficClass", "must be one of"},
        BadCase{"class_case", "{" + kLoc + R"(,"trafficClass":"Bulk"})", "trafficClass", "must be one of"},
        BadCase{"class_number", "{" + kLoc + R"(,"trafficClass":1})", "trafficClass", "must be a string"},
        BadCase{"algorithm_unknown", "{" + kLoc + R"(,"algorithm":"fastest"})", "algorithm", "must be one of"},
        BadCase{"bytes_negative", "{" + kLoc + R"(,"requestBytes":-1})", "requestBytes", ">= 0"},
        BadCase{"bytes_float", "{" + kLoc + R"(,"requestBytes":1.5})", "requestBytes", "non-negative integer"},
        BadCase{"bytes_string", "{" + kLoc + R"(,"requestBytes":"10"})", "requestBytes", "non-negative integer"},
        BadCase{"bytes_huge", "{" + kLoc + R"(,"requestBytes":18446744073709551615})", "requestBytes", "1 TiB"},
        BadCase{"latency_zero", "{" + kLoc + R"(,"maxLatencyMs":0})", "maxLatencyMs", "(0, 600000]"},
        BadCase{"latency_bool", "{" + kLoc + R"(,"maxLatencyMs":true})", "maxLatencyMs", "not a boolean"},
        BadCase{"hint_object", "{" + kLoc + R"(,"regionHint":{}})", "regionHint", "must be a string"},
        BadCase{"unknown_field", "{" + kLoc + R"(,"priority":1})", "priority", "unknown field"},
        BadCase{"empty_key", "{" + kLoc + R"(,"":1})", "body", "empty field name"},
        BadCase{"nul_then_garbage", std::string("{") + kLoc + "}" + std::string(1, '\0') + "garbage", "body",
                "malformed JSON"},
        BadCase{"bad_utf8", "{\"regionHint\":\"\xff\"," + kLoc + "}", "body", "malformed JSON"},
        // A field error early in the body does not hide malformed JSON later on.
        BadCase{"field_error_then_garbage", R"({"requestBytes":-1,"location":)", "body", "malformed JSON"},
        BadCase{"scalar_body", "17", "body", "must be a JSON object, not a number"},
        BadCase{"string_body", R"("x")", "body", "must be a JSON object, not a string"},
        BadCase{"lat_object", R"({"location":{"latitude":{"v":1},"longitude":2}})", "location.latitude",
                "must be a number, not an object"},
        BadCase{"lon_array", R"({"location":{"latitude":1,"longitude":[2]}})", "location.longitude",
                "must be a number, not an array"},
        BadCase{"address_array", R"({"clientAddress":["10.0.0.1"]})", "clientAddress", "must be a string, not an array"},
        BadCase{"bytes_object", "{" + kLoc + R"(,"requestBytes":{"n":1}})", "requestBytes", "non-negative integer"},
        BadCase{"unknown_object", "{" + kLoc + R"(,"extra":{"latitude":1,"trafficClass":"gold"}})", "extra",
                "unknown field"},
        BadCase{"unknown_nested_location", R"({"location":{"latitude":1,"longitude":2,"alt":{"m":[1,{"x":2}]}}})",
                "location.alt", "unknown field"},
        BadCase{"latency_negative_int", "{" + kLoc + R"(,"maxLatencyMs":-5})", "maxLatencyMs", "(0, 600000]"},
        BadCase{"location_string", R"({"location":"Dublin"})", "location", "must be an object, not a string"}),
    [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(ParseRouteRequestTest, FullRequest) {
  auto parsed = parseRouteRequest(
      R"({"clientAddress":"203.0.113.7","location":{"latitude":48.1,"longitude":-11.6},"regionHint":"eu-west-1",)"
      R"("trafficClass":"interactive","requestBytes":2048,"algorithm":"geo-proximity","maxLatencyMs":80})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  EXPECT_EQ(parsed->clientAddress, "203.0.113.7");
  ASSERT_TRUE(parsed->location.has_value());
  EXPECT_DOUBLE_EQ(parsed->location->latitude, 48.1);
  EXPECT_DOUBLE_EQ(parsed->location->longitude, -11.6);
  EXPECT_EQ(parsed->regionHint, "eu-west-1");
  EXPECT_EQ(parsed->trafficClass, TrafficClass::kInteractive);
  EXPECT_EQ(parsed->requestBytes, 2048u);
  EXPECT_EQ(parsed->algorithm, Algorithm::kGeoProximity);
  EXPECT_EQ(parsed->maxLatencyMs, 80.0);
  auto engine = parsed->toEngineRequest();
  EXPECT_EQ(engine.regionHint, "eu-west-1");
  EXPECT_EQ(engine.algorithm, Algorithm::kGeoProximity);
}

TEST(ParseRouteRequestTest, DefaultsAndAddressOnly) {
  auto parsed = parseRouteRequest(R"({"clientAddress":"2001:db8::1"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  EXPECT_FALSE(parsed->location.has_value());
  EXPECT_EQ(parsed->trafficClass, TrafficClass::kStandard);
  EXPECT_EQ(parsed->requestBytes, 0u);
  EXPECT_FALSE(parsed->algorithm.has_value());
  EXPECT_FALSE(parsed->maxLatencyMs.has_value());
}

TEST(ParseRouteRequestTest, BoundaryCoordinatesAccepted) {
  for (const char* body : {R"({"location":{"latitude":90,"longitude":180}})",
                           R"({"location":{"latitude":-90,"longitude":-180}})",
                           R"({"location":{"latitude":0,"longitude":0}})"}) {
    EXPECT_TRUE(parseRouteRequest(body).ok()) << body;
  }
}

TEST(ParseRouteRequestTest, ValuesOfSkippedContainersAreNotMistakenForFields) {
  // "trafficClass" inside an array of an unknown-typed value must not set the class; the first
  // error (the array) is what the client hears.
  auto parsed = parseRouteRequest(R"({"regionHint":[{"trafficClass":"bulk"}],"location":{"latitude":1,"longitude":2}})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().field, "regionHint");
}

TEST(ParseRouteRequestTest, LastDuplicateWinsAndLocationNeedsBothCoordinates) {
  auto parsed = parseRouteRequest(R"({"trafficClass":"bulk","trafficClass":"realtime","location":{"latitude":5,"longitude":6}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error().toString();
  EXPECT_EQ(parsed->trafficClass, TrafficClass::kRealtime);
  ASSERT_TRUE(parsed->location.has_value());
  EXPECT_DOUBLE_EQ(parsed->location->latitude, 5);
  EXPECT_DOUBLE_EQ(parsed->location->longitude, 6);
  // A location object without its coordinates does not fall back to clientAddress silently.
  auto partial = parseRouteRequest(R"({"clientAddress":"10.0.0.1","location":{"latitude":5}})");
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().field, "location.longitude");
}

// JsonScanner against nlohmann's parser on inputs at the edges of the grammar.
struct Collect {
  std::vector<std::string> events;
  bool null() { return add("null"); }
  bool boolean(bool b) { return add(b ? "true" : "false"); }
  bool number_integer(std::int64_t v) { return add("i" + std::to_string(v)); }
  bool number_unsigned(std::uint64_t v) { return add("u" + std::to_string(v)); }
  bool number_float(double v, const std::string&) { return add("f" + nlohmann::json(v).dump()); }
  bool string(std::string& s) { return add("s" + s); }
  bool key(std::string& s) { return add("k" + s); }
  bool start_object(std::size_t) { return add("{"); }
  bool end_object() { return add("}"); }
  bool start_array(std::size_t) { return add("["); }
  bool end_array() { return add("]"); }
  bool add(std::string e) {
    events.push_back(std::move(e));
    return true;
  }
};

TEST(JsonScannerTest, AcceptsWhatNlohmannAcceptsAndNothingElse) {
  const std::vector<std::string> inputs = {
      "{}", "[]", " \t\r\n{ } ", "\xEF\xBB\xBF{}", "{\"a\":1}", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1,]", "[,1]",
      "01", "-", "-0", "1.", ".5", "1e", "1e+", "1E-2", "+1", "1.5e308", "1e309", "-1e309", "1e-400",
      "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
      "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\uZZZZ\"",
      "\"\\x\"", "\"a\tb\"", "\"\x7f\"", "\"\xc3\xa9\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
      "\"\xf0\x9f\x98\x80\"", "\"\xe2\x82\"", "\"unterminated", "tru", "true", "nul", "null x", "[true,false,null]",
      "{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}", "", " ", "{\"a\":1}{}", "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\""};
  for (const auto& input : inputs) {
    Collect ours;
    const bool accepted = JsonScanner<Collect>(input, ours).run();
    EXPECT_EQ(accepted, nlohmann::json::accept(input)) << "input: " << input;
    if (!accepted) continue;
    // Same events as nlohmann's own SAX parser.
    struct Theirs : Collect {
      bool binary(nlohmann::json::binary_t&) { return true; }
      bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }
    } theirs;
    ASSERT_TRUE(nlohmann::json::sax_parse(input, &theirs)) << input;
    EXPECT_EQ(ours.events, theirs.events) << "input: " << input;
  }
}

TEST(RenderErrorTest, EscapesAndStaysValidJson) {
  const std::string nasty = std::string("quote \" backslash \\ newline \n tab \t bell \x07 bad \xff\xfe ok \xc3\xa9 end");
  auto parsed = nlohmann::json::parse(renderError(nasty, "a\"b"));
  EXPECT_EQ(parsed["field"], "a\"b");
  const std::string message = parsed["error"];
  EXPECT_NE(message.find("quote \" backslash \\ newline \n tab \t bell \x07 bad "), std::string::npos);
  EXPECT_NE(message.find("\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9 end"), std::string::npos) << message;
  // Truncated and overlong sequences, surrogates: replaced, never passed through.
  for (const std::string& bad : {std::string("\xe2\x82"), std::string("\xc0\x80"), std::string("\xed\xa0\x80"),
                                std::string("\xf5\x80\x80\x80")}) {
    auto json = nlohmann::json::parse(renderError(bad));
    EXPECT_NE(json["error"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
  }
}

TEST(RenderErrorTest, NamesFieldOnlyWhenGiven) {
  auto withField = nlohmann::json::parse(renderError("must be a number", "location.latitude"));
  EXPECT_EQ(withField["error"], "must be a number");
  EXPECT_EQ(withField["field"], "location.latitude");
  auto without = nlohmann::json::parse(renderError("no such endpoint"));
  EXPECT_FALSE(without.contains("field"));
}

TEST(RenderDecisionTest, NamesRegionEndpointAndAlternatives) {
  routing::RegionTable table;
  std::vector<routing::RegionSpec> specs(2);
  specs[0].name = "eu-west-1";
  specs[0].endpoint = "https://eu.example.com";
  specs[0].location = {53.35, -6.26};
  specs[0].phase = routing::RegionPhase::kHealthy;
  specs[1].name = "us-east-1";
  specs[1].endpoint = "https://us.example.com";
  specs[1].location = {38.13, -78.45};
  specs[1].phase = routing::RegionPhase::kHealthy;
  ASSERT_TRUE(table.replaceAll(specs).ok());
  routing::Router router(table);
  routing::RouteRequest request;
  request.clientLocation = routing::GeoPoint{51.5, -0.1};
  request.algorithm = Algorithm::kGeoProximity;
  auto decision = router.route(request);
  ASSERT_TRUE(decision.ok());
  auto json = nlohmann::json::parse(renderDecision(*decision));
  EXPECT_EQ(json["region"], "eu-west-1");
  EXPECT_EQ(json["endpoint"], "https://eu.example.com");
  EXPECT_EQ(json["algorithm"], "geo-proximity");
  EXPECT_EQ(json["trafficClass"], "standard");
  EXPECT_GT(json["score"].get<double>(), 0);
  EXPECT_EQ(json["score"].get<double>(), decision->score);  // shortest round trip, no precision lost
  EXPECT_EQ(json["hintHonoured"], decision->hintHonoured);
  EXPECT_EQ(json["failover"], decision->failover);
  EXPECT_EQ(json["withinLatencyBound"], decision->withinLatencyBound);
  ASSERT_EQ(json["alternatives"].size(), 1u);
  EXPECT_EQ(json["alternatives"][0]["region"], "us-east-1");
  EXPECT_EQ(json["alternatives"][0]["endpoint"], "https://us.example.com");
  EXPECT_EQ(json["alternatives"][0]["score"].get<double>(), decision->alternatives[0].score);
}

}  // namespace
}  // namespace dwcp::routingapi
