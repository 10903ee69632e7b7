#include "operator/routing_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "controllers/cached_types.h"

namespace dwcp::op {
namespace {

using nlohmann::json;

json region(const std::string& name, double latitude, double longitude, const std::string& resourceVersion = "1") {
  return {{"apiVersion", "federation.dwcp.io/v1alpha1"},
          {"kind", "Region"},
          {"metadata", {{"name", name}, {"resourceVersion", resourceVersion}}},
          {"spec",
           {{"location", {{"latitude", latitude}, {"longitude", longitude}, {"continent", "europe"}}},
            {"capacity", {{"cpu", 2048}, {"memoryMiB", 8192}, {"storageGiB", 100}}},
            {"cost", {{"cpuHour", 0.04}}},
            {"endpoint", "https://" + name + ".example.com:7443"},
            {"enabled", true}}}};
}

RoutingApi makeApi() { return RoutingApi(config::RoutingConfig{}); }

const routing::RegionEntry* find(const routing::RegionSnapshot& snapshot, const std::string& name) {
  auto index = snapshot.indexOf(name);
  return index ? &snapshot.regions()[*index] : nullptr;
}

// One HTTP/1.1 request on a fresh connection; returns the raw response.
std::string httpRequest(int port, const std::string& method, const std::string& path, const std::string& body = "") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return "connect failed";
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\n\r\n" + body;
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  return response;
}

std::string bodyOf(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// A Region of the cache as the routing engine gets it, through api::parseRegion. The objects
// carry every field the CRD requires (continent, memory and storage capacity, a condition's
// lastTransitionTime): the API server never returns a Region without them, and parseRegion
// refuses one.
nlohmann::json regionObject() {
  return nlohmann::json::parse(R"({
    "apiVersion": "federation.dwcp.io/v1alpha1", "kind": "Region",
    "metadata": {"name": "eu-west-1", "resourceVersion": "812", "generation": 3},
    "spec": {"location": {"latitude": 53.35, "longitude": -6.26, "country": "IE", "continent": "europe"},
             "capacity": {"cpu": 2048, "memoryMiB": 8388608, "storageGiB": 100000}, "cost": {"cpuHour": 0.0464},
             "endpoint": "https://dwcp-eu-west-1.example.com:7443", "enabled": true, "priority": 75,
             "compliance": ["gdpr"]},
    "status": {"phase": "Degraded", "healthScore": 64.5, "observedGeneration": 3,
               "conditions": [{"type": "Ready", "status": "False", "reason": "Degraded",
                               "lastTransitionTime": "2026-12-01T10:00:00Z"}]}
  })");
}

TEST(RoutingRegionOfTest, ConvertsTheCachedObject) {
  auto spec = routingRegionOf(regionObject());
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->name, "eu-west-1");
  EXPECT_EQ(spec->endpoint, "https://dwcp-eu-west-1.example.com:7443");
  EXPECT_DOUBLE_EQ(spec->location.latitude, 53.35);
  EXPECT_DOUBLE_EQ(spec->location.longitude, -6.26);
  EXPECT_DOUBLE_EQ(spec->capacityWeight, 2048);
  EXPECT_DOUBLE_EQ(spec->costPerCpuHour, 0.0464);
  EXPECT_EQ(spec->phase, routing::RegionPhase::kDegraded);
  EXPECT_DOUBLE_EQ(spec->healthScore, 64.5);
}

TEST(RoutingRegionOfTest, NoStatusYetIsHealthyAndDisabledWins) {
  auto object = regionObject();
  object.erase("status");
  auto spec = routingRegionOf(object);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->phase, routing::RegionPhase::kHealthy);
  EXPECT_DOUBLE_EQ(spec->healthScore, 100);

  // A remote region: phase Unknown, no healthScore (the controller erases it).
  object["status"] = {{"phase", "Unknown"}};
  spec = routingRegionOf(object);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->phase, routing::RegionPhase::kUnknown);

  // spec.enabled=false is Disabled even while the status still says Healthy.
  object["spec"]["enabled"] = false;
  object["status"] = {{"phase", "Healthy"}, {"healthScore", 100}};
  spec = routingRegionOf(object);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->phase, routing::RegionPhase::kDisabled);
}

struct BadResource {
  const char* name;
  const char* pointer;  // JSON pointer of the field to set
  const char* value;    // JSON; null removes the field
  const char* field;
};
void PrintTo(const BadResource& c, std::ostream* os) { *os << c.name; }

class RoutingRegionOfBadTest : public testing::TestWithParam<BadResource> {};

TEST_P(RoutingRegionOfBadTest, NamesTheField) {
  auto object = regionObject();
  const auto& c = GetParam();
  const nlohmann::json::json_pointer pointer(c.pointer);
  const auto value = nlohmann::json::parse(c.value);
  if (value.is_null()) {
    object.at(pointer.parent_pointer()).erase(pointer.back());  // "null": leave the field out
  } else {
    object[pointer] = value;
  }
  auto spec = routingRegionOf(object);
  ASSERT_FALSE(spec.ok()) << c.name;
  EXPECT_EQ(spec.error().message.rfind(std::string(c.field) + ":", 0), 0u) << spec.error().message;
  // As the Region cache holds it: the same reason, whether the decoder refused it or the engine.
  kube::ObjectPtr cached = kube::Store(controllers::regionDecoder()).decode(object);
  if (std::string(c.field) == "metadata.name") {
    EXPECT_EQ(cached, nullptr);  // a nameless object never reaches the cache
    return;
  }
  ASSERT_NE(cached, nullptr);
  auto fromCache = routingRegionOf(*cached);
  ASSERT_FALSE(fromCache.ok()) << c.name;
  EXPECT_EQ(fromCache.error().message, spec.error().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RoutingRegionOfBadTest,
    testing::Values(
        BadResource{"lat_range", "/spec/location/latitude", "95", "spec.location.latitude"},
        BadResource{"lat_string", "/spec/location/latitude", "\"53.35\"", "spec.location.latitude"},
        BadResource{"lon_missing", "/spec/location/longitude", "null", "spec.location.longitude"},
        BadResource{"enabled_string", "/spec/enabled", "\"false\"", "spec.enabled"},
        BadResource{"endpoint_number", "/spec/endpoint", "7443", "spec.endpoint"},
        BadResource{"cpu_zero", "/spec/capacity/cpu", "0", "spec.capacity.cpu"},
        BadResource{"cost_negative", "/spec/cost/cpuHour", "-1", "spec.cost.cpuHour"},
        BadResource{"phase_unknown_word", "/status/phase", "\"Sleepy\"", "status.phase"},
        BadResource{"health_range", "/status/healthScore", "150", "status.healthScore"},
        BadResource{"name_missing", "/metadata/name", "null", "metadata.name"},
        BadResource{"spec_not_object", "/spec", "[1]", "spec"}),
    [](const testing::TestParamInfo<BadResource>& info) { return std::string(info.param.name); });

TEST(RoutingRegionOfTest, NotAnObject) {
  auto spec = routingRegionOf(nlohmann::json::array());
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("object"), std::string::npos) << spec.error().message;
}

TEST(RoutingApiTest, RebuildSkipsABadRegionAndKeepsTheOthers) {
  RoutingApi api = makeApi();
  kube::Store store(controllers::regionDecoder());
  store.upsert(region("eu-west-1", 53.35, -6.26));
  store.upsert(region("us-east-1", 38.13, -78.45));
  auto bad = region("ap-south-1", 95, 72.88);  // latitude out of range
  store.upsert(bad);
  api.rebuild(store);

  auto snapshot = api.table().snapshot();
  EXPECT_EQ(snapshot->regions().size(), 2u);
  EXPECT_NE(find(*snapshot, "eu-west-1"), nullptr);
  EXPECT_EQ(find(*snapshot, "ap-south-1"), nullptr);
  auto leftOut = api.leftOut();
  ASSERT_EQ(leftOut.count("ap-south-1"), 1u);
  EXPECT_NE(leftOut["ap-south-1"].find("spec.location.latitude"), std::string::npos) << leftOut["ap-south-1"];

  // Fixed: it joins; deleted: it goes.
  bad["spec"]["location"]["latitude"] = 19.08;
  bad["metadata"]["resourceVersion"] = "2";
  store.upsert(bad);
  api.rebuild(store);
  EXPECT_EQ(api.table().snapshot()->regions().size(), 3u);
  EXPECT_TRUE(api.leftOut().empty());
  store.erase("us-east-1");
  api.rebuild(store);
  snapshot = api.table().snapshot();
  EXPECT_EQ(snapshot->regions().size(), 2u);
  EXPECT_EQ(find(*snapshot, "us-east-1"), nullptr);
}

TEST(RoutingApiTest, StatusAndEnabledDecideTraffic) {
  RoutingApi api = makeApi();
  kube::Store store(controllers::regionDecoder());
  auto eu = region("eu-west-1", 53.35, -6.26);
  eu["status"] = {{"phase", "Failed"}, {"healthScore", 0}};
  auto us = region("us-east-1", 38.13, -78.45);
  us["spec"]["enabled"] = false;
  auto remote = region("eu-central-1", 50.11, 8.68);
  remote["status"] = {{"phase", "Unknown"}};
  for (const auto& r : {eu, us, remote}) store.upsert(r);
  api.rebuild(store);
  auto snapshot = api.table().snapshot();
  EXPECT_FALSE(find(*snapshot, "eu-west-1")->acceptsTraffic);
  EXPECT_EQ(find(*snapshot, "us-east-1")->spec.phase, routing::RegionPhase::kDisabled);
  EXPECT_FALSE(find(*snapshot, "us-east-1")->acceptsTraffic);
  EXPECT_TRUE(find(*snapshot, "eu-central-1")->acceptsTraffic);  // a remote region before its peer reports
}

TEST(RoutingApiTest, RebuildKeepsLiveStateOfRegionsThatStay) {
  RoutingApi api = makeApi();
  kube::Store store(controllers::regionDecoder());
  store.upsert(region("eu-west-1", 53.35, -6.26));
  store.upsert(region("us-east-1", 38.13, -78.45));
  api.rebuild(store);
  auto before = api.table().snapshot();
  auto eu = region("eu-west-1", 53.35, -6.26, "7");
  eu["status"] = {{"phase", "Degraded"}, {"healthScore", 60}};
  store.upsert(eu);
  api.rebuild(store);
  auto after = api.table().snapshot();
  EXPECT_GT(after->version(), before->version());
  EXPECT_EQ(find(*after, "eu-west-1")->spec.phase, routing::RegionPhase::kDegraded);
  EXPECT_EQ(find(*after, "eu-west-1")->live.get(), find(*before, "eu-west-1")->live.get());
  EXPECT_EQ(find(*after, "us-east-1")->live.get(), find(*before, "us-east-1")->live.get());
}

TEST(RoutingApiTest, WarnsOncePerResourceVersion) {
  std::ostringstream logs;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs)));
  RoutingApi api = makeApi();
  kube::Store store(controllers::regionDecoder());
  store.upsert(region("eu-west-1", 53.35, -6.26));
  store.upsert(region("ap-south-1", 95, 72.88, "10"));
  auto count = [&logs] {
    std::size_t n = 0;
    const std::string text = logs.str();
    for (auto at = text.find("Region ap-south-1"); at != std::string::npos; at = text.find("Region ap-south-1", at + 1)) {
      ++n;
    }
    return n;
  };
  api.rebuild(store);
  api.rebuild(store);
  api.rebuild(store);
  EXPECT_EQ(count(), 1u);
  store.upsert(region("ap-south-1", 96, 72.88, "11"));
  api.rebuild(store);
  EXPECT_EQ(count(), 2u);
  spdlog::set_default_logger(previous);
}

TEST(RoutingApiTest, HandlerRebuildsOnEveryChange) {
  RoutingApi api = makeApi();
  kube::Store store(controllers::regionDecoder());
  auto handler = api.regionHandler(store);
  auto eu = region("eu-west-1", 53.35, -6.26);
  store.upsert(eu);
  handler.onAdd(*store.decode(eu));
  EXPECT_EQ(api.table().snapshot()->regions().size(), 1u);
  auto changed = eu;
  changed["spec"]["enabled"] = false;
  store.upsert(changed);
  handler.onUpdate(*store.decode(eu), *store.decode(changed));
  EXPECT_FALSE(find(*api.table().snapshot(), "eu-west-1")->acceptsTraffic);
  store.erase("eu-west-1");
  handler.onDelete(*store.decode(changed));
  EXPECT_TRUE(api.table().snapshot()->regions().empty());
}

TEST(RoutingApiTest, ServesOverHttp) {
  RoutingApi api = makeApi();
  auto port = api.start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.error().message;
  ASSERT_GT(*port, 0);

  // Nothing synced yet: no region to choose.
  const std::string request = R"({"clientAddress":"198.51.100.7","location":{"latitude":48.86,"longitude":2.35}})";
  auto response = httpRequest(*port, "POST", "/v1/route", request);
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;

  kube::Store store(controllers::regionDecoder());
  store.upsert(region("eu-west-1", 53.35, -6.26));
  store.upsert(region("us-east-1", 38.13, -78.45));
  api.rebuild(store);
  response = httpRequest(*port, "POST", "/v1/route", request);
  ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_NE(bodyOf(response).find("eu-west-1"), std::string::npos) << response;
  auto regions = json::parse(bodyOf(httpRequest(*port, "GET", "/v1/regions")), nullptr, false);
  ASSERT_TRUE(regions.contains("regions")) << regions;
  EXPECT_EQ(regions["regions"].size(), 2u);

  // The port is taken now: a second server's error names the flag.
  RoutingApi other = makeApi();
  auto taken = other.start("127.0.0.1:" + std::to_string(*port));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().message.rfind("--routing-bind-address: ", 0), 0u) << taken.error().message;

  api.stop();
  api.stop();  // idempotent
  EXPECT_EQ(httpRequest(*port, "GET", "/healthz"), "connect failed");
}

TEST(RoutingApiTest, BindAddressForms) {
  RoutingApi api = makeApi();
  auto port = api.start("localhost:0");  // a host name is resolved
  ASSERT_TRUE(port.ok()) << port.error().message;
  api.stop();
  RoutingApi bad = makeApi();
  auto error = bad.start("8090");
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().message.find("--routing-bind-address: \"8090\" is not HOST:PORT"), std::string::npos);
}

}  // namespace
}  // namespace dwcp::op
