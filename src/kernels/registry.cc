// Turns THE list (kernels.inc) into KernelEntry rows. Nothing else names ops.
#include <cstring>

#include "kernels/families.h"

namespace anvil {

#define TC(name, types) TypeConstraint{name, types}
#define ANVIL_KERNEL(domain, op, since, until, Class, ...) \
  KernelEntry{domain, op, since, until, {__VA_ARGS__}, &Class::Create},

const std::vector<KernelEntry>& AllKernels() {
  static const std::vector<KernelEntry> entries = {
#include "kernels/kernels.inc"
  };
  return entries;
}

#undef ANVIL_KERNEL
#undef TC

const KernelEntry* FindKernel(const char* domain, const char* op_type, int since) {
  for (const KernelEntry& e : AllKernels()) {
    if (since >= e.since && since <= e.until && std::strcmp(e.op_type, op_type) == 0 &&
        std::strcmp(e.domain, domain) == 0)
      return &e;
  }
  return nullptr;
}

}  // namespace anvil
