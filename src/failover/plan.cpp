#include "failover/plan.h"

#include <algorithm>

#include "failover/engine/text.h"

namespace failover {

bool IsGroupWrite(const Write& write) {
  return std::holds_alternative<UpdateStatus>(write) || std::holds_alternative<PatchGroupAnnotations>(write) ||
         std::holds_alternative<PatchGroupFinalizers>(write);
}

std::vector<StageRange> Stages(const Plan& plan) {
  std::vector<StageRange> out;
  size_t begin = 0;
  for (size_t end : plan.stage_ends) {
    end = std::min(end, plan.writes.size());
    if (end <= begin) continue;
    out.push_back({begin, end});
    begin = end;
  }
  for (; begin < plan.writes.size(); ++begin) out.push_back({begin, begin + 1});
  return out;
}

std::string Describe(const Write& write) {
  using engine::Join;
  auto kv = [](const Labels& set, const std::vector<std::string>& remove) {
    std::vector<std::string> parts;
    for (const auto& [k, v] : set) parts.push_back("set " + k + "=" + v);
    for (const auto& k : remove) parts.push_back("remove " + k);
    return Join(parts, ", ");
  };
  return std::visit(
      [&](const auto& w) -> std::string {
        using T = std::decay_t<decltype(w)>;
        if constexpr (std::is_same_v<T, PatchPodLabels>) {
          return "pod " + w.name + ": " + kv(w.set, w.remove);
        } else if constexpr (std::is_same_v<T, DeletePod>) {
          return "pod " + w.name + ": delete (fencing)";
        } else if constexpr (std::is_same_v<T, PatchService>) {
          auto m = w.annotations.find(keys::kActiveMember);
          const bool released = std::find(w.remove_labels.begin(), w.remove_labels.end(), keys::kGroup) !=
                                w.remove_labels.end();
          return "service " + w.name + ": selector " + engine::SelectorText(w.selector) +
                 (m != w.annotations.end() ? " (member " + m->second + ")" : "") + (released ? " (released)" : "");
        } else if constexpr (std::is_same_v<T, PatchGroupAnnotations>) {
          return "group: annotations " + kv(w.set, w.remove);
        } else if constexpr (std::is_same_v<T, PatchGroupFinalizers>) {
          return "group: finalizers [" + Join(w.finalizers, ",") + "]";
        } else if constexpr (std::is_same_v<T, UpdateStatus>) {
          std::string step = w.status.switch_record ? " step " + w.status.switch_record->step : "";
          return "status: phase " + w.status.phase + ", active " +
                 (w.status.active_member.empty() ? "none" : w.status.active_member) + step;
        } else {
          return std::string("hook ") + (w.phase == HookPhase::kPrePromote ? "prePromote" : "postPromote") +
                 ": POST " + w.hook.url + " (" + w.from + " -> " + w.to + ")";
        }
      },
      write);
}

}  // namespace failover
