#include "kube/resource.h"

namespace kube {

std::string Resource::GroupVersionPath() const {
  if (group.empty()) return "/api/" + version;
  return "/apis/" + group + "/" + version;
}

std::string Resource::CollectionPath(const std::string& ns) const {
  std::string path = GroupVersionPath();
  if (namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += ns;
  }
  path += '/';
  path += resource;
  return path;
}

std::string Resource::ObjectPath(const std::string& ns, const std::string& name,
                                 const std::string& subresource) const {
  std::string path = CollectionPath(ns);
  path += '/';
  path += name;
  if (!subresource.empty()) {
    path += '/';
    path += subresource;
  }
  return path;
}

std::string Resource::Name() const {
  if (group.empty()) return resource;
  return resource + "." + group;
}

}  // namespace kube
