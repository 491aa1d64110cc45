#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace runtime {

// The one process-wide registry that /metrics serves; every library registers here.
prometheus::Registry& Metrics();
std::shared_ptr<prometheus::Registry> MetricsRegistry();

// The registry in the Prometheus text exposition format.
std::string SerializeMetrics();

// Runtime families, named as docs/metrics.md lists them. Registered on first use.
namespace metrics {
prometheus::Family<prometheus::Counter>& ReconcileTotal();        // controller, result
prometheus::Family<prometheus::Counter>& ReconcileErrors();       // controller
prometheus::Family<prometheus::Counter>& ReconcilePanics();       // controller
prometheus::Family<prometheus::Histogram>& ReconcileTime();       // controller
prometheus::Family<prometheus::Gauge>& ActiveWorkers();           // controller
prometheus::Family<prometheus::Gauge>& WorkqueueDepth();          // name
prometheus::Family<prometheus::Counter>& WorkqueueAdds();         // name
prometheus::Family<prometheus::Counter>& WorkqueueRetries();      // name
prometheus::Family<prometheus::Histogram>& WorkqueueQueueDuration();  // name
prometheus::Family<prometheus::Histogram>& WorkqueueWorkDuration();   // name
prometheus::Family<prometheus::Counter>& RestClientRequests();    // code, method, resource
prometheus::Family<prometheus::Histogram>& RestClientDuration();  // verb, resource
prometheus::Family<prometheus::Gauge>& LeaderStatus();            // name
prometheus::Family<prometheus::Counter>& InformerRelists();       // resource
prometheus::Family<prometheus::Gauge>& BuildInfo();               // version

// Buckets used for latency histograms (seconds).
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();
}  // namespace metrics

}  // namespace runtime
