#include "ep/ep.h"

#include <anvil/anvil.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "ep/boundary.h"
#include "ep/factory.h"
#include "ep/node_info_ort.h"
#include "fusion/group_kernel.h"
#include "kernels/shape/shape.h"
#include "ep/profiler.h"

namespace anvil {

namespace {
// The ops Anvil has channels-last kernels for (kernels.inc, domain com.ms.internal.nhwc).
const std::set<std::string>& NhwcOps() {
  static const std::set<std::string> ops = {"Conv", "ConvTranspose", "BatchNormalization", "MaxPool",
                                            "AveragePool", "GlobalAveragePool", "GlobalMaxPool"};
  return ops;
}

// A node Anvil runs channels-first only, whose op ORT would convert with layout=nhwc: "" if none,
// else why. A MaxPool whose Indices output is used (Anvil's channels-last MaxPool has no Indices),
// a training-mode BatchNormalization (its channels-last kernel is inference only).
std::string ChannelsFirstOnly(const OrtNode* node) {
  const char* domain = nullptr;
  Ort::ThrowOnError(Ort::GetApi().Node_GetDomain(node, &domain));
  if (domain != nullptr && domain[0] != 0) return "";
  GraphNodeInfo info(node);
  if (info.OpType() == "MaxPool" && info.OutputCount() >= 2 &&
      info.OutputType(1) != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED)
    return "a MaxPool with its Indices output runs on ORT when layout=nhwc (Anvil's channels-last MaxPool has "
           "no Indices); layout=nchw runs it on Anvil";
  if (info.OpType() == "BatchNormalization" && info.Int("training_mode", 0) != 0)
    return "a training-mode BatchNormalization runs on ORT when layout=nhwc (Anvil's channels-last one is "
           "inference only); layout=nchw runs it on Anvil";
  return "";
}

// The graph's ai.onnx opset (0 if it has none).
int64_t OnnxOpset(const OrtGraph* graph) {
  const OrtApi& api = Ort::GetApi();
  size_t n = 0;
  Ort::ThrowOnError(api.Graph_GetNumOperatorSets(graph, &n));
  std::vector<const char*> domains(n);
  std::vector<int64_t> versions(n);
  if (n) Ort::ThrowOnError(api.Graph_GetOperatorSets(graph, domains.data(), versions.data(), n));
  for (size_t i = 0; i < n; ++i)
    if (domains[i] == nullptr || domains[i][0] == 0 || std::string(domains[i]) == "ai.onnx") return versions[i];
  return 0;
}
}  // namespace

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
  ShouldConvertDataLayoutForOp = ShouldConvertDataLayoutForOpImpl;
  IsConcurrentRunSupported = IsConcurrentRunSupportedImpl;
  // Single nodes run through the kernel registry; fused groups (src/fusion) through Compile.
  Compile = CompileImpl;
  ReleaseNodeComputeInfos = ReleaseNodeComputeInfosImpl;
  // Anvil's kernel events in ORT's profile (src/ep/profiler.h): OrtEp::CreateProfiler is ORT 1.25's.
  if (factory_.runtime_api() >= 25) CreateProfiler = CreateAnvilProfiler;
}

AnvilEp::~AnvilEp() { factory_.Unref(); }

const char* ORT_API_CALL AnvilEp::GetNameImpl(const OrtEp*) noexcept { return ANVIL_EP_NAME; }

OrtStatus* ORT_API_CALL AnvilEp::GetKernelRegistryImpl(OrtEp* self, const OrtKernelRegistry** registry) noexcept {
  *registry = nullptr;
  return Guard("GetKernelRegistry", [&] { return static_cast<AnvilEp*>(self)->factory_.Registry(registry); });
}

OrtStatus* ORT_API_CALL AnvilEp::GetPreferredDataLayoutImpl(OrtEp* self, OrtEpDataLayout* layout) noexcept {
  // NHWC makes ORT's layout transformer hand the ops ShouldConvertDataLayoutForOpImpl names over
  // in its internal NHWC domain (kernels.inc registers them there too). ORT asks before the first
  // GetCapability and again after it: an EP that prefers NHWC for a model whose opset the layout
  // transformer does not take (below 7) gets no node at all. So NCHW until GetCapability has seen
  // the model's opset (ClaimNodes), and NHWC only for opsets the transformer takes.
  *layout = static_cast<AnvilEp*>(self)->layout_nhwc_ ? OrtEpDataLayout::OrtEpDataLayout_NHWC
                                                      : OrtEpDataLayout::OrtEpDataLayout_NCHW;
  return nullptr;
}

OrtStatus* ORT_API_CALL AnvilEp::ShouldConvertDataLayoutForOpImpl(OrtEp* self, const char* domain, const char* op_type,
                                                                   OrtEpDataLayout target, int* should_convert) noexcept {
  // Exactly the ops with an NHWC kernel in kernels.inc; everything else stays as the model has it
  // (element-wise ops between convolutions take whatever layout ORT's transpose optimizer gives them).
  // Resize too, unless this session's graphs have one that channels-last would get wrong: between
  // channels-last convolutions it then needs no Transposes around it (PaddleOCR det's upsampling).
  const bool onnx = (domain == nullptr || domain[0] == 0) && op_type != nullptr;
  const bool ours = onnx && (NhwcOps().count(op_type) > 0 ||
                             (std::strcmp(op_type, "Resize") == 0 && static_cast<AnvilEp*>(self)->resize_nhwc_));
  *should_convert = target == OrtEpDataLayout::OrtEpDataLayout_NHWC && ours ? 1 : 0;
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
  // NHWC only pays (and only changes anything) where the graph has an op ORT would convert.
  if (config_.nhwc && !layout_nhwc_ && OnnxOpset(graph) >= 7) {
    for (const OrtNode* node : nodes) {
      const char* op = nullptr;
      const char* domain = nullptr;
      Ort::ThrowOnError(api.Node_GetOperatorType(node, &op));
      Ort::ThrowOnError(api.Node_GetDomain(node, &domain));
      if ((domain == nullptr || domain[0] == 0) && op && NhwcOps().count(op)) layout_nhwc_ = true;
    }
    // ... but not for a model with a node Anvil runs channels-first only (a MaxPool that uses its
    // Indices output, a training BatchNormalization): that model stays in NCHW (below, such a node
    // is declined only when a later graph brings it after NHWC was chosen).
    for (const OrtNode* node : nodes)
      if (!ChannelsFirstOnly(node).empty()) layout_nhwc_ = false;
  }
  // 1. Which nodes Anvil can run on its own: a kernel whose Create accepts the node.
  std::set<const OrtNode*> claimable;
  for (const OrtNode* node : nodes) {
    GraphNodeInfo info(node);
    const OrtKernelDef* def = nullptr;
    if (OrtStatus* st = Ort::GetEpApi().EpGraphSupportInfo_LookUpKernel(support, node, &def)) {
      // ORT's own lookup failed on this node: decline it, not the whole graph.
      const std::string why = std::string("ORT's kernel lookup failed: ") + api.GetErrorMessage(st);
      api.ReleaseStatus(st);
      Log(ORT_LOGGING_LEVEL_WARNING, "Anvil declines " + info.OpType() + " node '" + info.Name() + "': " + why);
      Dispatch(info.OpType() + " node '" + info.Name() + "': declined: " + why);
      continue;
    }
    if (def == nullptr) {
      const std::string why = "Anvil has no kernel for " + info.OpType() + " (schema revision " +
                              std::to_string(info.SinceVersion()) + ") with these types";
      Log(ORT_LOGGING_LEVEL_INFO, why + "; node '" + info.Name() + "' goes to another EP");
      Dispatch(info.OpType() + " node '" + info.Name() + "': declined: " + why);
      continue;
    }
    const char* domain = Ort::GetEpApi().KernelDef_GetDomain(def);
    const KernelEntry* entry = FindKernel(domain, info.OpType().c_str(), info.SinceVersion());
    if (entry == nullptr) continue;  // registered by someone else: cannot happen for our registry
    Status ok = entry->create(info, nullptr);
    // In NHWC ORT would convert this node to its NHWC domain, where Anvil has no Indices.
    if (ok.ok() && layout_nhwc_) {
      const std::string why = ChannelsFirstOnly(node);
      if (!why.empty()) ok = Fail(why);
    }
    if (!ok.ok()) {
      Log(ORT_LOGGING_LEVEL_INFO, "Anvil declines " + info.OpType() + " node '" + info.Name() + "': " + ok.message());
      Dispatch(info.OpType() + " node '" + info.Name() + "': declined: " + ok.message());
      continue;
    }
    claimable.insert(node);
    // ORT converts the nodes Anvil claims after this first look at the graph: a Resize that would
    // be wrong channels-last keeps every later Resize channels-first (ShouldConvertDataLayoutForOpImpl).
    const bool onnx = domain == nullptr || domain[0] == 0;
    if (resize_nhwc_ && onnx && info.OpType() == "Resize" && !ResizeRunsChannelsLast(info).ok()) resize_nhwc_ = false;
  }
  // 2. Fused groups among them (src/fusion/patterns.inc), run through Compile.
  std::set<const OrtNode*> fused;
  if (config_.fuse) {
    auto can_claim = [&](const OrtNode* n) { return claimable.count(n) > 0; };
    auto accepts = [&](const OrtNode* anchor, const std::vector<PostOp>& steps) {
      GraphNodeInfo info(anchor);
      const char* domain = nullptr;
      if (OrtStatus* st = api.Node_GetDomain(anchor, &domain)) {
        api.ReleaseStatus(st);
        return false;
      }
      const KernelEntry* entry = FindKernel(domain ? domain : "", info.OpType().c_str(), info.SinceVersion());
      std::unique_ptr<Kernel> k;
      return entry && entry->create && entry->create(info, &k).ok() && k->Fuse(steps).ok();
    };
    auto runs = [&](const NodeInfo& info) {
      const KernelEntry* entry = FindKernel("", info.OpType().c_str(), info.SinceVersion());
      return entry && entry->create && entry->create(info, nullptr).ok();
    };
    for (fusion::Group& g : fusion::FindGroups(nodes, can_claim, accepts, runs)) {
      OrtNodeFusionOptions options{};
      options.ort_version_supported = ORT_API_VERSION;
      options.drop_constant_initializers = true;  // CompileGroup packs or copies them
      Ort::ThrowOnError(Ort::GetEpApi().EpGraphSupportInfo_AddNodesToFuse(support, g.nodes.data(), g.nodes.size(), &options));
      Log(ORT_LOGGING_LEVEL_INFO, "Anvil fuses " + std::to_string(g.nodes.size()) + " nodes: " + g.description);
      Dispatch("fused group of " + std::to_string(g.nodes.size()) + " nodes: " + g.description + " (" +
               (g.function.op.empty() ? "anchor" : g.function.op) + " output '" + g.head_output + "')");
      for (const OrtNode* n : g.nodes) fused.insert(n);
      g.nodes.clear();  // the OrtNodes are this call's
      groups_[g.head_output] = std::move(g);
    }
  }
  // 3. Everything else Anvil can run, one node at a time through the kernel registry.
  for (const OrtNode* node : nodes) {
    if (!claimable.count(node) || fused.count(node)) continue;
    Ort::ThrowOnError(Ort::GetEpApi().EpGraphSupportInfo_AddSingleNode(support, node));
    if (config_.log_dispatch) {
      GraphNodeInfo info(node);
      Dispatch(info.OpType() + " node '" + info.Name() + "': claimed");
    }
  }
  return {};
}

OrtStatus* ORT_API_CALL AnvilEp::CompileImpl(OrtEp* self, const OrtGraph** graphs, const OrtNode** fused_nodes,
                                             size_t count, OrtNodeComputeInfo** node_compute_infos,
                                             OrtNode** ep_context_nodes) noexcept {
  for (size_t i = 0; i < count; ++i) {
    node_compute_infos[i] = nullptr;
    if (ep_context_nodes) ep_context_nodes[i] = nullptr;
  }
  return Guard("Compile", [&] {
    return static_cast<AnvilEp*>(self)->CompileGroups(graphs, fused_nodes, count, node_compute_infos);
  });
}

Status AnvilEp::CompileGroups(const OrtGraph** graphs, const OrtNode** fused_nodes, size_t count,
                              OrtNodeComputeInfo** out) {
  for (size_t i = 0; i < count; ++i) {
    // The group's key is its head's output: find which of the graph's node outputs it is.
    size_t n = 0;
    Ort::ThrowOnError(Ort::GetApi().Graph_GetNumNodes(graphs[i], &n));
    std::vector<const OrtNode*> nodes(n);
    if (n) Ort::ThrowOnError(Ort::GetApi().Graph_GetNodes(graphs[i], nodes.data(), n));
    const fusion::Group* group = nullptr;
    for (const OrtNode* node : nodes) {
      size_t outs = 0;
      Ort::ThrowOnError(Ort::GetApi().Node_GetNumOutputs(node, &outs));
      std::vector<const OrtValueInfo*> values(outs);
      if (outs) Ort::ThrowOnError(Ort::GetApi().Node_GetOutputs(node, values.data(), outs));
      if (outs == 0) continue;
      auto it = groups_.find(fusion::ValueName(values[0]));
      if (it != groups_.end()) group = &it->second;
    }
    Status s = group ? fusion::CompileGroup(graphs[i], fused_nodes[i], *group, config_, weight_cache_, &out[i])
                     : Fail("Anvil was asked to compile a node group it did not claim");
    if (!s.ok()) {
      ReleaseNodeComputeInfosImpl(this, out, i);
      for (size_t j = 0; j < i; ++j) out[j] = nullptr;
      return s;
    }
  }
  return {};
}

void ORT_API_CALL AnvilEp::ReleaseNodeComputeInfosImpl(OrtEp*, OrtNodeComputeInfo** infos, size_t count) noexcept {
  for (size_t i = 0; i < count; ++i)
    if (infos[i]) fusion::ReleaseGroup(infos[i]);
}

void AnvilEp::Dispatch(const std::string& message) const {
  if (config_.log_dispatch) std::fprintf(stderr, "anvil dispatch: %s\n", message.c_str());
}

void AnvilEp::Log(OrtLoggingLevel level, const std::string& message) const {
  OrtStatus* st = Ort::GetApi().Logger_LogMessage(&logger_, level, message.c_str(), ORT_FILE, __LINE__, "Anvil");
  if (st) Ort::GetApi().ReleaseStatus(st);
}

}  // namespace anvil
