#pragma once

#include <functional>

#include <nlohmann/json.hpp>

namespace runtime {

// Receives an informer's changes, in order, on the informer's thread. Keep it quick
// (typically: enqueue a key). OnDelete gets the last state the informer knew.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual void OnAdd(const nlohmann::json& obj) = 0;
  virtual void OnUpdate(const nlohmann::json& old_obj, const nlohmann::json& new_obj) = 0;
  virtual void OnDelete(const nlohmann::json& last_known) = 0;
};

// An EventHandler from functions; unset ones are skipped.
struct EventHandlerFuncs : EventHandler {
  std::function<void(const nlohmann::json&)> add;
  std::function<void(const nlohmann::json&, const nlohmann::json&)> update;
  std::function<void(const nlohmann::json&)> del;

  void OnAdd(const nlohmann::json& obj) override {
    if (add) add(obj);
  }
  void OnUpdate(const nlohmann::json& o, const nlohmann::json& n) override {
    if (update) update(o, n);
  }
  void OnDelete(const nlohmann::json& obj) override {
    if (del) del(obj);
  }
};

}  // namespace runtime
