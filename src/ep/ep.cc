#include "ep/ep.h"

#include <anvil/anvil.h>

#include <vector>

#include "ep/boundary.h"
#include "ep/factory.h"
#include "ep/node_info_ort.h"
#include "ep/profiler.h"

namespace anvil {

AnvilEp::AnvilEp(AnvilEpFactory& factory, const EpConfig& config, const OrtLogger& logger)
    : OrtEp{},
      factory_(factory),
      cpu_memory_(Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault)),
      config_(config),
      logger_(logger) {
  factory_.Ref();
  if (config_.share_weights) weight_cache_ = factory_.weight_cache();
  ort_version_supported = ORT_API_VERSION;  // below 24 ORT would silently ignore GetKernelRegistry
  config_.cpu_memory = cpu_memory_;
  GetName = GetNameImpl;
  GetCapability = GetCapabilityImpl;
  GetKernelRegistry = GetKernelRegistryImpl;
  GetPreferredDataLayout = GetPreferredDataLayoutImpl;
  IsConcurrentRunSupported = IsConcurrentRunSupportedImpl;
  // Anvil's kernel events in ORT's profile (src/ep/profiler.h): OrtEp::CreateProfiler is ORT 1.25's.
  if (factory_.runtime_api() >= 25) CreateProfiler = CreateAnvilProfiler;
  // Compile stays null for now: Anvil runs single nodes through its kernel registry. Fused node
  // groups (EpGraphSupportInfo_AddNodesToFuse + Compile) are the planned home of element-wise fusion.
}

AnvilEp::~AnvilEp() { factory_.Unref(); }

const char* ORT_API_CALL AnvilEp::GetNameImpl(const OrtEp*) noexcept { return ANVIL_EP_NAME; }

OrtStatus* ORT_API_CALL AnvilEp::GetKernelRegistryImpl(OrtEp* self, const OrtKernelRegistry** registry) noexcept {
  *registry = nullptr;
  return Guard("GetKernelRegistry", [&] { return static_cast<AnvilEp*>(self)->factory_.Registry(registry); });
}

OrtStatus* ORT_API_CALL AnvilEp::GetPreferredDataLayoutImpl(OrtEp*, OrtEpDataLayout* layout) noexcept {
  // NCHW for now. Returning NHWC makes ORT hand layout-sensitive ops over in its internal NHWC
  // domain, which needs Anvil's NHWC kernels registered first.
  *layout = OrtEpDataLayout::OrtEpDataLayout_NCHW;
  return nullptr;
}

OrtStatus* ORT_API_CALL AnvilEp::IsConcurrentRunSupportedImpl(OrtEp*, bool* supported) noexcept {
  *supported = true;  // kernels are re-entrant
  return nullptr;
}

OrtStatus* ORT_API_CALL AnvilEp::GetCapabilityImpl(OrtEp* self, const OrtGraph* graph,
                                                   OrtEpGraphSupportInfo* support) noexcept {
  return Guard("GetCapability", [&] { return static_cast<AnvilEp*>(self)->ClaimNodes(graph, support); });
}

Status AnvilEp::ClaimNodes(const OrtGraph* graph, OrtEpGraphSupportInfo* support) {
  const OrtApi& api = Ort::GetApi();
  size_t count = 0;
  Ort::ThrowOnError(api.Graph_GetNumNodes(graph, &count));
  std::vector<const OrtNode*> nodes(count);
  if (count) Ort::ThrowOnError(api.Graph_GetNodes(graph, nodes.data(), count));
  for (const OrtNode* node : nodes) {
    GraphNodeInfo info(node);
    const OrtKernelDef* def = nullptr;
    Ort::ThrowOnError(Ort::GetEpApi().EpGraphSupportInfo_LookUpKernel(support, node, &def));
    if (def == nullptr) {
      Log(ORT_LOGGING_LEVEL_INFO, "Anvil has no kernel for " + info.OpType() + " (schema revision " +
                                      std::to_string(info.SinceVersion()) + ") with these types; node '" +
                                      info.Name() + "' goes to another EP");
      continue;
    }
    const char* domain = Ort::GetEpApi().KernelDef_GetDomain(def);
    const KernelEntry* entry = FindKernel(domain, info.OpType().c_str(), info.SinceVersion());
    if (entry == nullptr) continue;  // registered by someone else: cannot happen for our registry
    Status ok = entry->create(info, nullptr);
    if (!ok.ok()) {
      Log(ORT_LOGGING_LEVEL_INFO, "Anvil declines " + info.OpType() + " node '" + info.Name() + "': " + ok.message());
      continue;
    }
    Ort::ThrowOnError(Ort::GetEpApi().EpGraphSupportInfo_AddSingleNode(support, node));
  }
  return {};
}

void AnvilEp::Log(OrtLoggingLevel level, const std::string& message) const {
  OrtStatus* st = Ort::GetApi().Logger_LogMessage(&logger_, level, message.c_str(), ORT_FILE, __LINE__, "Anvil");
  if (st) Ort::GetApi().ReleaseStatus(st);
}

}  // namespace anvil
