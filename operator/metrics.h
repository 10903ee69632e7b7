// The operator's Prometheus metrics: the runtime's own (reconciles, errors and durations per
// controller, work-queue depth and latency, watch restarts and relists) and the federation's
// (dwcp_federation_*). Served on --metrics-bind-address by the one server of net/, as
// prometheus-cpp's text serialization of the registry.
// Thread-safe: prometheus-cpp metrics are; hooks may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "kube/controller.h"
#include "kube/result.h"
#include "kube/workqueue.h"
#include "net/http_server.h"

namespace dwcp::op {

// A histogram's value as a source reads it: cumulative counts per upper bound (+Inf implied by
// `count`).
struct HistogramValue {
  std::vector<std::pair<double, uint64_t>> buckets;
  uint64_t count = 0;
  double sum = 0;
};

// A counter read from elsewhere at scrape time (e.g. a Reflector's restart count); a gauge when
// `gauge` is set; a histogram when `readHistogram` is set.
struct CounterSource {
  std::string name;
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  std::function<double()> read;
  bool gauge = false;
  std::function<HistogramValue()> readHistogram{};
};

class OperatorMetrics {
 public:
  OperatorMetrics();
  ~OperatorMetrics();

  // Hooks that feed the runtime metrics of one controller and its queue.
  kube::ControllerMetrics controllerHooks(const std::string& controller);
  kube::WorkQueueMetrics queueHooks(const std::string& queue);
  // Registers counters read at scrape time. Returns an id for removeCounterSources().
  uint64_t addCounterSources(std::vector<CounterSource> sources);
  // Unregisters them, waiting for a scrape that is reading them: once it returns nothing calls
  // their read() again, so what they read (e.g. informers) may be destroyed. Unknown ids: no-op.
  void removeCounterSources(uint64_t id);

  void setRegionHealth(const std::string& region, double score);
  // One placement engine decision: its time and result (placed, preempting, unschedulable, invalid).
  void observePlacement(double seconds, const std::string& result);
  void setLeader(bool leading);

  // Starts serving /metrics on "HOST:PORT" (":PORT" for every address). Returns the bound port.
  kube::Result<int> serve(const std::string& bindAddress);  // serving stops with the destructor
  // The text exposition of everything registered (for tests and a TLS listener).
  std::string serialize() const;

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  class SourceCollector;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<SourceCollector> sources_;

  prometheus::Family<prometheus::Counter>& reconcileTotal_;
  prometheus::Family<prometheus::Counter>& reconcileErrors_;
  prometheus::Family<prometheus::Histogram>& reconcileTime_;
  prometheus::Family<prometheus::Gauge>& queueDepth_;
  prometheus::Family<prometheus::Counter>& queueAdds_;
  prometheus::Family<prometheus::Counter>& queueRetries_;
  prometheus::Family<prometheus::Histogram>& queueLatency_;
  prometheus::Family<prometheus::Histogram>& queueWork_;
  prometheus::Family<prometheus::Gauge>& regionHealth_;
  prometheus::Family<prometheus::Gauge>& leader_;
  prometheus::Family<prometheus::Histogram>& placementLatency_;
  prometheus::Family<prometheus::Counter>& placements_;
  prometheus::Histogram* placementHistogram_ = nullptr;
  std::unique_ptr<net::HttpServer> server_;  // declared last: stops before the metrics go
};

}  // namespace dwcp::op
