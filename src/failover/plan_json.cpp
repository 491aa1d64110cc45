#include "failover/plan_json.h"

#include "failover/status_json.h"
#include "failover/time_text.h"

namespace failover {
namespace {

json LabelsPatch(const Labels& set, const std::vector<std::string>& remove) {
  json labels = json::object();
  for (const auto& [k, v] : set) labels[k] = v;
  for (const auto& k : remove) labels[k] = nullptr;
  return labels;
}

}  // namespace

json MergePatchBody(const Write& write) {
  return std::visit(
      [](const auto& w) -> json {
        using T = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          return {{"metadata", {{"labels", LabelsPatch(w.set, w.remove)}}}};
        } else if constexpr (std::is_same_v<T, PatchService>) {
          json selector = LabelsPatch(w.selector, w.remove_selector_keys);
          json meta = {{"annotations", LabelsPatch(w.annotations, w.remove_annotations)}};
          if (!w.labels.empty() || !w.remove_labels.empty()) meta["labels"] = LabelsPatch(w.labels, w.remove_labels);
          if (!w.resource_version.empty()) meta["resourceVersion"] = w.resource_version;
          return {{"metadata", meta}, {"spec", {{"selector", selector}}}};
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          return {{"metadata", {{"annotations", LabelsPatch(w.set, w.remove)}}}};
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          json meta = {{"finalizers", w.finalizers}};
          if (!w.resource_version.empty()) meta["resourceVersion"] = w.resource_version;
          return {{"metadata", meta}};
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          return {{"status", StatusToJson(w.status)}};
        } else {
          return nullptr;
        }
      },
      write);
}

json WriteToJson(const Write& write) {
  return std::visit(
      [&](const auto& w) -> json {
        using T = std::decay_t<decltype(w)>;
        json j;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          j = {{"kind", "PatchPodLabels"}, {"name", w.name}, {"set", w.set}, {"remove", w.remove}};
        } else if constexpr (std::is_same_v<T, DeletePod>) {
          j = {{"kind", "DeletePod"}, {"name", w.name}, {"uid", w.uid}};
        } else if constexpr (std::is_same_v<T, PatchService>) {
          j = {{"kind", "PatchService"}, {"name", w.name}, {"selector", w.selector},
               {"removeSelectorKeys", w.remove_selector_keys}, {"annotations", w.annotations}};
          if (!w.remove_annotations.empty()) j["removeAnnotations"] = w.remove_annotations;
          if (!w.labels.empty()) j["labels"] = w.labels;
          if (!w.remove_labels.empty()) j["removeLabels"] = w.remove_labels;
          if (!w.resource_version.empty()) j["resourceVersion"] = w.resource_version;
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          j = {{"kind", "PatchGroupAnnotations"}, {"set", w.set}, {"remove", w.remove}};
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          j = {{"kind", "PatchGroupFinalizers"}, {"finalizers", w.finalizers}};
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          j = {{"kind", "UpdateStatus"}, {"status", StatusToJson(w.status)}};
        } else {
          j = {{"kind", "CallHook"},
               {"phase", w.phase == HookPhase::kPrePromote ? "prePromote" : "postPromote"},
               {"url", w.hook.url}, {"from", w.from}, {"to", w.to}, {"reason", w.reason},
               {"startedAt", FormatTime(w.started_at)}};
        }
        return j;
      },
      write);
}

json PlanToJson(const Plan& plan) {
  json j;
  j["activeMembers"] = plan.active_members;
  j["writes"] = json::array();
  for (const auto& w : plan.writes) j["writes"].push_back(WriteToJson(w));
  j["stages"] = json::array();
  for (const auto& st : Stages(plan)) j["stages"].push_back({st.begin, st.end});
  j["withheld"] = json::array();
  for (const auto& w : plan.withheld) j["withheld"].push_back(WriteToJson(w));
  j["status"] = StatusToJson(plan.status);
  j["statusChanged"] = plan.status_changed;
  j["events"] = json::array();
  for (const auto& e : plan.events) {
    json ej = {{"type", e.type}, {"reason", e.reason}, {"message", e.message}, {"afterWrites", e.after_writes}};
    if (e.if_stopped) ej["ifStopped"] = true;
    j["events"].push_back(ej);
  }
  j["metrics"] = json::array();
  for (const auto& m : plan.metrics) {
    const char* kind = m.kind == MetricObservation::Kind::kFailover           ? "failover"
                       : m.kind == MetricObservation::Kind::kDetectionLatency ? "detectionLatency"
                                                                              : "switchDuration";
    json mj = {{"kind", kind}, {"from", m.from}, {"to", m.to}, {"reason", m.reason}, {"seconds", m.seconds}};
    if (m.kind == MetricObservation::Kind::kSwitchDuration) mj["startedAt"] = FormatTime(m.started_at);
    j["metrics"].push_back(mj);
  }
  j["requeueAfterMs"] = plan.requeue_after ? json(plan.requeue_after->count()) : json(nullptr);
  return j;
}

}  // namespace failover
