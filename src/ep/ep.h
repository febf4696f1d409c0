// One Anvil EP instance per session: options, GetCapability, the kernel registry.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "ep/ort_api.h"
#include "ep/weight_cache.h"
#include "fusion/matcher.h"
#include "kernels/kernel.h"

namespace anvil {

class AnvilEpFactory;

class AnvilEp : public OrtEp {
 public:
  AnvilEp(AnvilEpFactory& factory, const EpConfig& config, const OrtLogger& logger);
  ~AnvilEp();
  AnvilEp(const AnvilEp&) = delete;
  AnvilEp& operator=(const AnvilEp&) = delete;
  const EpConfig& config() const { return config_; }
  // The factory's packed-weight cache, or null when this session opted out (share_weights=0).
  const std::shared_ptr<PackedWeightCache>& weight_cache() const { return weight_cache_; }

 private:
  static const char* ORT_API_CALL GetNameImpl(const OrtEp* self) noexcept;
  static OrtStatus* ORT_API_CALL GetCapabilityImpl(OrtEp* self, const OrtGraph* graph,
                                                   OrtEpGraphSupportInfo* support) noexcept;
  static OrtStatus* ORT_API_CALL GetKernelRegistryImpl(OrtEp* self, const OrtKernelRegistry** registry) noexcept;
  static OrtStatus* ORT_API_CALL GetPreferredDataLayoutImpl(OrtEp* self, OrtEpDataLayout* layout) noexcept;
  static OrtStatus* ORT_API_CALL ShouldConvertDataLayoutForOpImpl(OrtEp* self, const char* domain, const char* op_type,
                                                                  OrtEpDataLayout target, int* should_convert) noexcept;
  static OrtStatus* ORT_API_CALL IsConcurrentRunSupportedImpl(OrtEp* self, bool* supported) noexcept;
  static OrtStatus* ORT_API_CALL CompileImpl(OrtEp* self, const OrtGraph** graphs, const OrtNode** fused_nodes,
                                             size_t count, OrtNodeComputeInfo** node_compute_infos,
                                             OrtNode** ep_context_nodes) noexcept;
  static void ORT_API_CALL ReleaseNodeComputeInfosImpl(OrtEp* self, OrtNodeComputeInfo** infos, size_t count) noexcept;

  Status ClaimNodes(const OrtGraph* graph, OrtEpGraphSupportInfo* support);
  Status CompileGroups(const OrtGraph** graphs, const OrtNode** fused_nodes, size_t count, OrtNodeComputeInfo** out);
  void Log(OrtLoggingLevel level, const std::string& message) const;
  void Dispatch(const std::string& message) const;  // the dispatch log (option log=dispatch)

  AnvilEpFactory& factory_;  // referenced (Ref in the constructor, Unref in the destructor)
  Ort::MemoryInfo cpu_memory_;
  EpConfig config_;
  const OrtLogger& logger_;
  std::shared_ptr<PackedWeightCache> weight_cache_;
  // Fused groups GetCapability handed to ORT, by anchor output, until Compile builds them.
  std::unordered_map<std::string, fusion::Group> groups_;
  bool layout_nhwc_ = false;  // what GetPreferredDataLayout answers (see there)
  // Whether ShouldConvertDataLayoutForOp asks for Resize too: until a graph brings a Resize that
  // would be wrong channels-last (ResizeRunsChannelsLast), for the rest of the session.
  bool resize_nhwc_ = true;
};

}  // namespace anvil
