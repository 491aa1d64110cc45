#include "runtime/store.h"

#include <algorithm>

namespace runtime {

std::string ObjectKey(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

std::string ObjectKey(const json& obj) {
  const json& meta = obj.contains("metadata") ? obj["metadata"] : json::object();
  return ObjectKey(meta.value("namespace", std::string()), meta.value("name", std::string()));
}

void SplitObjectKey(const std::string& key, std::string* ns, std::string* name) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) {
    ns->clear();
    *name = key;
  } else {
    *ns = key.substr(0, slash);
    *name = key.substr(slash + 1);
  }
}

bool MatchLabels(const json& obj, const std::map<std::string, std::string>& selector) {
  const json* labels = nullptr;
  if (obj.contains("metadata") && obj["metadata"].contains("labels") &&
      obj["metadata"]["labels"].is_object()) {
    labels = &obj["metadata"]["labels"];
  }
  for (const auto& [k, v] : selector) {
    if (!labels || !labels->contains(k) || !(*labels)[k].is_string() ||
        (*labels)[k].get_ref<const std::string&>() != v) {
      return false;
    }
  }
  return true;
}

Store::Store() {
  index_funcs_[kNamespaceIndex] = [](const json& obj) -> std::vector<std::string> {
    if (!obj.contains("metadata")) return {};
    return {obj["metadata"].value("namespace", std::string())};
  };
  index_funcs_[kLabelIndex] = [](const json& obj) {
    std::vector<std::string> out;
    if (obj.contains("metadata") && obj["metadata"].contains("labels") &&
        obj["metadata"]["labels"].is_object()) {
      for (const auto& [k, v] : obj["metadata"]["labels"].items()) {
        if (v.is_string()) out.push_back(k + "=" + v.get<std::string>());
      }
    }
    return out;
  };
}

namespace {

std::string Pack(const json& obj) {
  std::string out;
  json::to_msgpack(obj, out);
  out.shrink_to_fit();
  return out;
}

ObjectPtr Unpack(const std::string& packed) { return std::make_shared<const json>(json::from_msgpack(packed)); }

}  // namespace

void Store::AddIndex(const std::string& name, IndexFunc func) {
  std::unique_lock lock(mu_);
  index_funcs_[name] = std::move(func);
  auto& index = indexes_[name];
  index.clear();
  for (const auto& [key, packed] : items_) {
    for (const auto& v : index_funcs_[name](*Unpack(packed))) index[v].insert(&key);
  }
}

void Store::IndexLocked(const std::string& key, const json& obj) {
  for (const auto& [name, func] : index_funcs_) {
    auto& index = indexes_[name];
    for (const auto& v : func(obj)) index[v].insert(&key);
  }
}

void Store::UnindexLocked(const std::string& key, const json& obj) {
  for (const auto& [name, func] : index_funcs_) {
    auto& index = indexes_[name];
    for (const auto& v : func(obj)) {
      auto it = index.find(v);
      if (it == index.end()) continue;
      auto filed = it->second.find(key);
      if (filed != it->second.end()) it->second.erase(filed);
      if (it->second.empty()) index.erase(it);
    }
  }
}

ObjectPtr Store::Upsert(const json& obj) {
  const std::string key = ObjectKey(obj);
  std::string packed = Pack(obj);
  std::unique_lock lock(mu_);
  ObjectPtr old;
  auto it = items_.find(key);
  if (it != items_.end()) {
    old = Unpack(it->second);
    UnindexLocked(key, *old);
    it->second = std::move(packed);
  } else {
    it = items_.emplace(key, std::move(packed)).first;
  }
  IndexLocked(it->first, obj);
  return old;
}

ObjectPtr Store::Delete(const std::string& key) {
  std::unique_lock lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = Unpack(it->second);
  UnindexLocked(key, *old);
  items_.erase(it);
  return old;
}

void Store::Replace(const std::vector<json>& objects) {
  std::unique_lock lock(mu_);
  items_.clear();
  for (auto& [name, index] : indexes_) index.clear();
  for (const auto& obj : objects) {
    const std::string key = ObjectKey(obj);
    auto old = items_.find(key);
    if (old != items_.end()) UnindexLocked(key, *Unpack(old->second));
    auto it = items_.insert_or_assign(key, Pack(obj)).first;
    IndexLocked(it->first, obj);
  }
}

ObjectPtr Store::Get(const std::string& key) const {
  std::shared_lock lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : Unpack(it->second);
}

ObjectPtr Store::Get(const std::string& ns, const std::string& name) const {
  return Get(ObjectKey(ns, name));
}

std::vector<ObjectPtr> Store::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, packed] : items_) out.push_back(Unpack(packed));
  return out;
}

std::vector<std::string> Store::ListKeys() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& [key, packed] : items_) out.push_back(key);
  return out;
}

std::vector<std::string> Store::ListKeys(const std::string& ns) const {
  if (ns.empty()) return ListKeys();
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  auto index = indexes_.find(kNamespaceIndex);
  if (index == indexes_.end()) return out;
  auto keys = index->second.find(ns);
  if (keys == index->second.end()) return out;
  out.reserve(keys->second.size());
  for (const std::string* key : keys->second) out.push_back(*key);
  return out;
}

size_t Store::Size() const {
  std::shared_lock lock(mu_);
  return items_.size();
}

std::vector<ObjectPtr> Store::UnpackLocked(const std::vector<const std::string*>& keys) const {
  std::vector<ObjectPtr> out;
  out.reserve(keys.size());
  for (const std::string* key : keys) {
    auto it = items_.find(*key);
    if (it != items_.end()) out.push_back(Unpack(it->second));
  }
  return out;
}

std::vector<ObjectPtr> Store::ByIndex(const std::string& name, const std::string& value) const {
  std::shared_lock lock(mu_);
  auto index = indexes_.find(name);
  if (index == indexes_.end()) return {};
  auto keys = index->second.find(value);
  if (keys == index->second.end()) return {};
  std::vector<const std::string*> wanted;
  wanted.reserve(keys->second.size());
  for (const std::string* key : keys->second) wanted.push_back(key);
  return UnpackLocked(wanted);
}

std::vector<ObjectPtr> Store::ListNamespace(const std::string& ns) const {
  return ByIndex(kNamespaceIndex, ns);
}

std::vector<const std::string*> Store::KeysByLabelsLocked(
    const std::map<std::string, std::string>& selector) const {
  std::vector<const std::string*> out;
  auto labels = indexes_.find(kLabelIndex);
  if (labels == indexes_.end()) return out;
  // Walk the smallest bucket and look every key up in the others.
  std::vector<const KeySet*> buckets;
  const KeySet* smallest = nullptr;
  for (const auto& [k, v] : selector) {
    auto bucket = labels->second.find(k + "=" + v);
    if (bucket == labels->second.end()) return out;
    buckets.push_back(&bucket->second);
    if (smallest == nullptr || bucket->second.size() < smallest->size()) smallest = &bucket->second;
  }
  if (smallest == nullptr) return out;
  for (const std::string* key : *smallest) {
    if (std::all_of(buckets.begin(), buckets.end(),
                    [&](const KeySet* b) { return b == smallest || b->count(key) > 0; })) {
      out.push_back(key);
    }
  }
  return out;
}

std::vector<ObjectPtr> Store::ListByLabels(
    const std::string& ns, const std::map<std::string, std::string>& selector) const {
  if (selector.empty()) return ns.empty() ? List() : ListNamespace(ns);
  std::shared_lock lock(mu_);
  std::vector<const std::string*> keys = KeysByLabelsLocked(selector);
  if (!ns.empty()) {
    // Namespaced keys are "ns/name".
    const std::string prefix = ns + "/";
    std::erase_if(keys, [&](const std::string* key) { return !key->starts_with(prefix); });
  }
  return UnpackLocked(keys);
}

}  // namespace runtime
