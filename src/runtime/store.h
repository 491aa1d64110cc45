#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace runtime {

using json = nlohmann::json;
// Objects in a store are immutable once stored; readers share them.
using ObjectPtr = std::shared_ptr<const json>;

// "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
std::string ObjectKey(const json& obj);
std::string ObjectKey(const std::string& ns, const std::string& name);
// Splits a key made by ObjectKey.
void SplitObjectKey(const std::string& key, std::string* ns, std::string* name);

// The values an object is filed under in one index.
using IndexFunc = std::function<std::vector<std::string>(const json&)>;

// True when every selector label is present on the object with the same value.
bool MatchLabels(const json& obj, const std::map<std::string, std::string>& selector);

// A thread-safe cache of objects keyed by ObjectKey, with indexes. Two indexes always
// exist: kNamespaceIndex (metadata.namespace) and kLabelIndex ("key=value" per label).
//
// Objects are kept packed (MessagePack), not as JSON trees: a tree costs a map node per
// field, several times the object's size, and an operator caching tens of thousands of
// pods pays that in RSS. A read unpacks a fresh immutable copy (microseconds for the
// trimmed objects the operator caches); ListByLabels answers from the label index and
// unpacks only the objects that match.
class Store {
 public:
  static constexpr const char* kNamespaceIndex = "namespace";
  static constexpr const char* kLabelIndex = "label";

  Store();

  // Adds an index; existing objects are indexed at once. Replaces an index of the same name.
  void AddIndex(const std::string& name, IndexFunc func);

  // Inserts or replaces; returns the previous object (null when new).
  ObjectPtr Upsert(const json& obj);
  // Removes; returns the removed object (null when absent).
  ObjectPtr Delete(const std::string& key);
  // Replaces the whole content.
  void Replace(const std::vector<json>& objects);

  ObjectPtr Get(const std::string& key) const;
  ObjectPtr Get(const std::string& ns, const std::string& name) const;
  std::vector<ObjectPtr> List() const;
  std::vector<std::string> ListKeys() const;
  // The keys of namespace ns (every key when ns is empty).
  std::vector<std::string> ListKeys(const std::string& ns) const;
  size_t Size() const;

  // Objects filed under `value` in index `name` (empty when the index is unknown).
  std::vector<ObjectPtr> ByIndex(const std::string& name, const std::string& value) const;
  std::vector<ObjectPtr> ListNamespace(const std::string& ns) const;
  // Objects in ns (empty = all namespaces) whose labels match every selector entry.
  std::vector<ObjectPtr> ListByLabels(const std::string& ns,
                                      const std::map<std::string, std::string>& selector) const;

 private:
  // `key` must be the key of the item in items_ (its address is what gets filed).
  void IndexLocked(const std::string& key, const json& obj);
  void UnindexLocked(const std::string& key, const json& obj);
  // Unpacked copies of the items under these keys (keys no longer present are skipped).
  std::vector<ObjectPtr> UnpackLocked(const std::vector<const std::string*>& keys) const;
  // Keys of the items whose labels carry every selector pair (from the label index).
  std::vector<const std::string*> KeysByLabelsLocked(const std::map<std::string, std::string>& selector) const;

  // Index entries point at the keys of items_ (a std::map's keys stay put while the item
  // exists; an item leaves its indexes before it leaves items_): one pointer an entry
  // instead of another copy of "namespace/name".
  struct KeyLess {
    using is_transparent = void;
    bool operator()(const std::string* a, const std::string* b) const { return *a < *b; }
    bool operator()(const std::string* a, const std::string& b) const { return *a < b; }
    bool operator()(const std::string& a, const std::string* b) const { return a < *b; }
  };
  using KeySet = std::set<const std::string*, KeyLess>;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> items_;  // key -> MessagePack
  std::map<std::string, IndexFunc> index_funcs_;
  // index name -> value -> keys
  std::map<std::string, std::map<std::string, KeySet>> indexes_;
};

}  // namespace runtime
