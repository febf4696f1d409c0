// The EP factory ORT gets from CreateEpFactories: devices, EP creation, the shared kernel registry.
#pragma once
#include <atomic>
#include <mutex>

#include "ep/ort_api.h"
#include "ep/weight_cache.h"
#include "kernels/kernel.h"

namespace anvil {

class AnvilEpFactory : public OrtEpFactory {
 public:
  AnvilEpFactory(const OrtLogger& default_logger, int runtime_api);
  // The factory is reference-counted: ORT holds one reference (dropped by ReleaseEpFactory, at
  // unregister) and every EP holds one, because a session that outlives the unregister still has
  // ORT call ReleaseEp on this factory when it goes. The last Unref deletes it.
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref();
  // The kernel registry, built once per factory and shared by every EP (it outlives them).
  Status Registry(const OrtKernelRegistry** out);
  // Packed weights shared by every session of this factory (and kept while any kernel uses them).
  const std::shared_ptr<PackedWeightCache>& weight_cache() const { return weight_cache_; }
  // The API version of the ONNX Runtime that loaded the plugin (>= the one Anvil's headers are from).
  int runtime_api() const { return runtime_api_; }

 private:
  static const char* ORT_API_CALL GetNameImpl(const OrtEpFactory*) noexcept;
  static const char* ORT_API_CALL GetVendorImpl(const OrtEpFactory*) noexcept;
  static uint32_t ORT_API_CALL GetVendorIdImpl(const OrtEpFactory*) noexcept;
  static const char* ORT_API_CALL GetVersionImpl(const OrtEpFactory*) noexcept;
  static OrtStatus* ORT_API_CALL GetSupportedDevicesImpl(OrtEpFactory* self, const OrtHardwareDevice* const* devices,
                                                         size_t num_devices, OrtEpDevice** ep_devices,
                                                         size_t max_ep_devices, size_t* num_ep_devices) noexcept;
  static OrtStatus* ORT_API_CALL CreateEpImpl(OrtEpFactory* self, const OrtHardwareDevice* const* devices,
                                              const OrtKeyValuePairs* const* ep_metadata, size_t num_devices,
                                              const OrtSessionOptions* session_options, const OrtLogger* logger,
                                              OrtEp** ep) noexcept;
  static void ORT_API_CALL ReleaseEpImpl(OrtEpFactory* self, OrtEp* ep) noexcept;
  static OrtStatus* ORT_API_CALL CreateAllocatorImpl(OrtEpFactory*, const OrtMemoryInfo*, const OrtKeyValuePairs*,
                                                     OrtAllocator** allocator) noexcept;
  static void ORT_API_CALL ReleaseAllocatorImpl(OrtEpFactory*, OrtAllocator*) noexcept;
  static OrtStatus* ORT_API_CALL CreateDataTransferImpl(OrtEpFactory*, OrtDataTransferImpl** out) noexcept;
  static bool ORT_API_CALL IsStreamAwareImpl(const OrtEpFactory*) noexcept;
  static OrtStatus* ORT_API_CALL CreateSyncStreamForDeviceImpl(OrtEpFactory*, const OrtMemoryDevice*,
                                                               const OrtKeyValuePairs*,
                                                               OrtSyncStreamImpl** stream) noexcept;

  ~AnvilEpFactory();

  std::atomic<int> refs_{1};  // ORT's
  const OrtLogger& default_logger_;
  const int runtime_api_;
  std::mutex registry_mutex_;
  OrtKernelRegistry* registry_ = nullptr;
  std::shared_ptr<PackedWeightCache> weight_cache_ = std::make_shared<PackedWeightCache>();
};

}  // namespace anvil
