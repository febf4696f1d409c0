// Turns THE list (kernels.inc) into KernelEntry rows. Nothing else names ops.
#include <cstring>

#include "kernels/families.h"

namespace anvil {

namespace {
// Optional parts of a kernel class: CreateOrtKernel (ORT makes the kernel), kCpuInputs and
// kOutputViewsInput (output 0 may share input 0's buffer: the kernel then copies nothing).
template <typename Class>
constexpr OrtKernelCreateFn OrtCreateOf() {
  if constexpr (requires { &Class::CreateOrtKernel; }) return &Class::CreateOrtKernel;
  return nullptr;
}
template <typename Class>
constexpr uint32_t CpuInputsOf() {
  if constexpr (requires { Class::kCpuInputs; }) return Class::kCpuInputs;
  return 0;
}
template <typename Class>
constexpr bool OutputViewsInputOf() {
  if constexpr (requires { Class::kOutputViewsInput; }) return Class::kOutputViewsInput;
  return false;
}
}  // namespace

#define TC(name, types) TypeConstraint{name, types}
#define ANVIL_KERNEL(domain, op, since, until, Class, ...) \
  KernelEntry{domain, op, since, until, {__VA_ARGS__}, &Class::Create, OrtCreateOf<Class>(), CpuInputsOf<Class>(), \
              OutputViewsInputOf<Class>()},

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
