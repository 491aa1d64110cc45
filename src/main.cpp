// failover-operator: flags and wiring only.
#include <cstdio>

#include "version.h"

int main() {
  std::printf("failover-operator %s\n", FAILOVER_OPERATOR_VERSION);
  return 0;
}
