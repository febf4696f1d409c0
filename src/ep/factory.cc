#include "ep/factory.h"

#include <anvil/anvil.h>

#include <string>
#include <utility>
#include <vector>

#include "ep/boundary.h"
#include "ep/cpu_info.h"
#include "ep/ep.h"
#include "ep/kernel_registry.h"
#include "ep/options.h"

namespace anvil {

AnvilEpFactory::AnvilEpFactory(const OrtLogger& default_logger, int runtime_api)
    : OrtEpFactory{}, default_logger_(default_logger), runtime_api_(runtime_api) {
  ort_version_supported = ORT_API_VERSION;
  GetName = GetNameImpl;
  GetVendor = GetVendorImpl;
  GetVendorId = GetVendorIdImpl;
  GetVersion = GetVersionImpl;
  GetSupportedDevices = GetSupportedDevicesImpl;
  CreateEp = CreateEpImpl;
  ReleaseEp = ReleaseEpImpl;
  CreateAllocator = CreateAllocatorImpl;
  ReleaseAllocator = ReleaseAllocatorImpl;
  CreateDataTransfer = CreateDataTransferImpl;
  IsStreamAware = IsStreamAwareImpl;
  CreateSyncStreamForDevice = CreateSyncStreamForDeviceImpl;
}

AnvilEpFactory::~AnvilEpFactory() {
  if (registry_) Ort::GetEpApi().ReleaseKernelRegistry(registry_);
}

void AnvilEpFactory::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

Status AnvilEpFactory::Registry(const OrtKernelRegistry** out) {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  if (registry_ == nullptr) ANVIL_RETURN_IF_ERROR(BuildKernelRegistry(ANVIL_EP_NAME, &registry_));
  *out = registry_;
  return {};
}

const char* ORT_API_CALL AnvilEpFactory::GetNameImpl(const OrtEpFactory*) noexcept { return ANVIL_EP_NAME; }
const char* ORT_API_CALL AnvilEpFactory::GetVendorImpl(const OrtEpFactory*) noexcept { return ANVIL_EP_VENDOR; }
uint32_t ORT_API_CALL AnvilEpFactory::GetVendorIdImpl(const OrtEpFactory*) noexcept { return ANVIL_EP_VENDOR_ID; }
const char* ORT_API_CALL AnvilEpFactory::GetVersionImpl(const OrtEpFactory*) noexcept { return ANVIL_VERSION; }

OrtStatus* ORT_API_CALL AnvilEpFactory::GetSupportedDevicesImpl(OrtEpFactory* self,
                                                                const OrtHardwareDevice* const* devices,
                                                                size_t num_devices, OrtEpDevice** ep_devices,
                                                                size_t max_ep_devices,
                                                                size_t* num_ep_devices) noexcept {
  *num_ep_devices = 0;
  return Guard("GetSupportedDevices", [&]() -> OrtStatus* {
    const OrtApi& api = Ort::GetApi();
    const CpuInfo& cpu = GetCpuInfo();
    for (size_t i = 0; i < num_devices && *num_ep_devices < max_ep_devices; ++i) {
      if (api.HardwareDevice_Type(devices[i]) != OrtHardwareDeviceType_CPU) continue;
      Ort::KeyValuePairs metadata;
      metadata.Add(ANVIL_META_CPU_FEATURES, cpu.FeatureList().c_str());
      metadata.Add(ANVIL_META_THREADS, std::to_string(cpu.physical_cores).c_str());
      OrtEpDevice* ep_device = nullptr;
      if (OrtStatus* st = Ort::GetEpApi().CreateEpDevice(self, devices[i], metadata, nullptr, &ep_device)) return st;
      ep_devices[(*num_ep_devices)++] = ep_device;
    }
    return nullptr;
  });
}

OrtStatus* ORT_API_CALL AnvilEpFactory::CreateEpImpl(OrtEpFactory* self, const OrtHardwareDevice* const*,
                                                     const OrtKeyValuePairs* const*, size_t,
                                                     const OrtSessionOptions* session_options,
                                                     const OrtLogger* logger, OrtEp** ep) noexcept {
  *ep = nullptr;
  return Guard("CreateEp", [&]() -> Status {
    OrtKeyValuePairs* entries = nullptr;
    Ort::ThrowOnError(Ort::GetApi().GetSessionOptionsConfigEntries(session_options, &entries));
    Ort::KeyValuePairs owned(entries);
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& [k, v] : owned.GetKeyValuePairs()) pairs.emplace_back(k, v);
    EpConfig config;
    ANVIL_RETURN_IF_ERROR(ParseOptions(pairs, config));
    auto* factory = static_cast<AnvilEpFactory*>(self);
    const OrtLogger& session_logger = logger ? *logger : factory->default_logger_;
    const std::string msg = "Anvil " ANVIL_VERSION ": " + std::to_string(config.threads) + " threads (" +
                            config.threads_source + ")";
    if (OrtStatus* st = Ort::GetApi().Logger_LogMessage(&session_logger, ORT_LOGGING_LEVEL_INFO, msg.c_str(),
                                                         ORT_FILE, __LINE__, "Anvil"))
      Ort::GetApi().ReleaseStatus(st);
    *ep = new AnvilEp(*factory, config, session_logger);
    return {};
  });
}

void ORT_API_CALL AnvilEpFactory::ReleaseEpImpl(OrtEpFactory*, OrtEp* ep) noexcept {
  delete static_cast<AnvilEp*>(ep);  // drops the EP's reference on this factory: may delete it
}

OrtStatus* ORT_API_CALL AnvilEpFactory::CreateAllocatorImpl(OrtEpFactory*, const OrtMemoryInfo*,
                                                            const OrtKeyValuePairs*, OrtAllocator** allocator) noexcept {
  *allocator = nullptr;  // ORT's default CPU allocator
  return nullptr;
}
void ORT_API_CALL AnvilEpFactory::ReleaseAllocatorImpl(OrtEpFactory*, OrtAllocator*) noexcept {}
OrtStatus* ORT_API_CALL AnvilEpFactory::CreateDataTransferImpl(OrtEpFactory*, OrtDataTransferImpl** out) noexcept {
  *out = nullptr;  // host memory only: nothing to copy
  return nullptr;
}
bool ORT_API_CALL AnvilEpFactory::IsStreamAwareImpl(const OrtEpFactory*) noexcept { return false; }
OrtStatus* ORT_API_CALL AnvilEpFactory::CreateSyncStreamForDeviceImpl(OrtEpFactory*, const OrtMemoryDevice*,
                                                                      const OrtKeyValuePairs*,
                                                                      OrtSyncStreamImpl** stream) noexcept {
  *stream = nullptr;
  return nullptr;
}

}  // namespace anvil
