// A minimal operator process for the leader-election test: a Manager with leader
// election that reconciles ConfigMaps labelled test=runtime in one namespace by
// annotating them with its identity, and prints "reconciled <key>" for each reconcile
// that wrote. Flags: the manager's, plus --kubeconfig=PATH --namespace=NS --identity=ID.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "base/flags.h"
#include "base/stop_signals.h"
#include "kube/client.h"
#include "kube/config.h"
#include "runtime/manager.h"

namespace {

class AnnotateReconciler : public runtime::Reconciler {
 public:
  AnnotateReconciler(runtime::Manager* mgr, std::string identity)
      : mgr_(mgr), identity_(std::move(identity)) {}

  kube::Result<runtime::ReconcileResult> Reconcile(const runtime::Request& req) override {
    if (!mgr_->IsLeader()) return runtime::ReconcileResult{};
    const kube::json patch = {
        {"metadata", {{"annotations", {{"runtime-test/reconciled-by", identity_}}}}}};
    auto r = mgr_->client()->Patch(kube::resources::kConfigMaps, req.ns, req.name,
                                   kube::PatchType::kMerge, patch.dump());
    if (!r.ok()) {
      if (r.status().IsNotFound()) return runtime::ReconcileResult{};
      return r.status();
    }
    std::printf("reconciled %s\n", req.Key().c_str());
    std::fflush(stdout);
    return runtime::ReconcileResult{};
  }

 private:
  runtime::Manager* mgr_;
  std::string identity_;
};

}  // namespace

int main(int argc, char** argv) {
  base::StopSignals stop_signals;  // first: every thread inherits the blocked signals
  runtime::ManagerOptions opts;
  std::string kubeconfig, ns;
  base::FlagSet flags;
  runtime::AddManagerFlags(flags, &opts);
  flags.String("--kubeconfig", &kubeconfig);
  flags.String("--namespace", &ns);
  flags.String("--identity", &opts.leader_identity);
  auto parsed = flags.ParseFlagsOnly(argc, argv);
  if (!parsed.ok()) {
    std::cerr << parsed.error << "\n" << runtime::ManagerFlagsUsage();
    return 2;
  }
  auto cfg = kube::LoadConfig(kubeconfig);
  if (!cfg.ok()) {
    std::cerr << cfg.status().ToString() << "\n";
    return 1;
  }
  auto client = kube::Client::Create(*cfg);
  if (!client.ok()) {
    std::cerr << client.status().ToString() << "\n";
    return 1;
  }
  runtime::Manager mgr(*client, opts);
  runtime::InformerOptions io;
  io.resource = kube::resources::kConfigMaps;
  io.ns = ns;
  io.label_selector = "test=runtime";
  auto& inf = mgr.GetInformer(io);
  auto& ctl = mgr.AddController({"leader_demo", 2, nullptr},
                                std::make_shared<AnnotateReconciler>(&mgr, mgr.identity()));
  ctl.Watch(inf);
  // As the operator's main: SIGTERM stops gracefully (and releases the lease).
  stop_signals.Watch([&mgr](int, int count) {
    if (count > 1) std::_Exit(1);
    mgr.RequestStop();
  });
  const int rc = mgr.Run();
  std::fflush(nullptr);
  std::_Exit(rc);
}
