#include "failover/object_fields.h"

#include "failover/lenient_fields.h"

namespace failover {

Labels LabelsOf(const nlohmann::json& obj) {
  return lenient::StringMapOr(lenient::ObjectOr(obj, "metadata"), "labels");
}

}  // namespace failover
