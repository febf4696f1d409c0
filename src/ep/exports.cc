// The plugin's only two exported symbols.
#include <anvil/anvil.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "ep/boundary.h"
#include "ep/factory.h"

#define ANVIL_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
constexpr int kMinimumOrtApi = ORT_API_VERSION;  // the version Anvil's headers are from

// ORT unmaps the library at unregister, even while a session made with it is alive and will later
// call its kernels' and its EP's Release. So the library pins itself on first registration: the
// extra reference with RTLD_NODELETE keeps the code mapped for the rest of the process (a
// re-registration maps the same copy, so register/unregister cycles do not add up).
void PinLibrary() {
  static const bool pinned = [] {
    Dl_info self{};
    if (dladdr(reinterpret_cast<void*>(&PinLibrary), &self) == 0 || self.dli_fname == nullptr) return false;
    return dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != nullptr;
  }();
  (void)pinned;
}
// The runtime's API version: its minor version ("1.29.0" -> 29; ORT's API version follows it).
// At least kMinimumOrtApi here (GetApi succeeded); newer features are used only when it is there.
int RuntimeApiVersion(const char* version) {
  int major = 0, minor = 0;
  if (version == nullptr || std::sscanf(version, "%d.%d", &major, &minor) != 2 || major != 1) return kMinimumOrtApi;
  return std::max(minor, kMinimumOrtApi);
}
}  // namespace

ANVIL_EXPORT OrtStatus* CreateEpFactories(const char* /*registration_name*/, const OrtApiBase* api_base,
                                          const OrtLogger* default_logger, OrtEpFactory** factories,
                                          size_t max_factories, size_t* num_factories) {
  *num_factories = 0;
  // API 1 is always there, so an error can be reported even by an ORT too old for Anvil.
  const OrtApi* api1 = api_base->GetApi(1);
  const char* runtime = api_base->GetVersionString();
  const OrtApi* api = api_base->GetApi(kMinimumOrtApi);
  if (api == nullptr) {
    const std::string msg = std::string("Anvil ") + ANVIL_VERSION + " needs ONNX Runtime 1." +
                            std::to_string(kMinimumOrtApi) + ".0 or newer; this process runs ONNX Runtime " +
                            (runtime ? runtime : "of unknown version");
    return api1 ? api1->CreateStatus(ORT_NOT_IMPLEMENTED, msg.c_str()) : nullptr;
  }
  Ort::InitApi(api);
  PinLibrary();
  return anvil::Guard("CreateEpFactories", [&]() -> OrtStatus* {
    if (api->GetEpApi() == nullptr) return api->CreateStatus(ORT_FAIL, "Anvil: this ONNX Runtime has no EP API");
    if (max_factories < 1) return api->CreateStatus(ORT_INVALID_ARGUMENT, "Anvil: no room for its factory");
    factories[0] = new anvil::AnvilEpFactory(*default_logger, RuntimeApiVersion(runtime));
    *num_factories = 1;
    return nullptr;
  });
}

ANVIL_EXPORT OrtStatus* ReleaseEpFactory(OrtEpFactory* factory) {
  static_cast<anvil::AnvilEpFactory*>(factory)->Unref();  // sessions still alive keep it until they go
  return nullptr;
}
