// The plugin's only two exported symbols.
#include <anvil/anvil.h>

#include <cstdio>
#include <string>

#include "ep/boundary.h"
#include "ep/factory.h"

#define ANVIL_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
constexpr int kMinimumOrtApi = ORT_API_VERSION;  // the version Anvil's headers are from
}

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
  return anvil::Guard("CreateEpFactories", [&]() -> OrtStatus* {
    if (api->GetEpApi() == nullptr) return api->CreateStatus(ORT_FAIL, "Anvil: this ONNX Runtime has no EP API");
    if (max_factories < 1) return api->CreateStatus(ORT_INVALID_ARGUMENT, "Anvil: no room for its factory");
    factories[0] = new anvil::AnvilEpFactory(*default_logger);
    *num_factories = 1;
    return nullptr;
  });
}

ANVIL_EXPORT OrtStatus* ReleaseEpFactory(OrtEpFactory* factory) {
  delete static_cast<anvil::AnvilEpFactory*>(factory);
  return nullptr;
}
