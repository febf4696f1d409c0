#include "fusion/group_kernel.h"

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "ep/boundary.h"
#include "ep/node_info_ort.h"
#include "ep/profiler.h"
#include "ep/task_runner.h"

namespace anvil::fusion {
namespace {

const OrtApi& Api() { return Ort::GetApi(); }

std::vector<const OrtValueInfo*> NodeValues(const OrtNode* node, bool inputs) {
  size_t n = 0;
  Ort::ThrowOnError(inputs ? Api().Node_GetNumInputs(node, &n) : Api().Node_GetNumOutputs(node, &n));
  std::vector<const OrtValueInfo*> v(n);
  if (n) Ort::ThrowOnError(inputs ? Api().Node_GetInputs(node, v.data(), n) : Api().Node_GetOutputs(node, v.data(), n));
  return v;
}

std::vector<const OrtNode*> GraphNodes(const OrtGraph* graph) {
  size_t n = 0;
  Ort::ThrowOnError(Api().Graph_GetNumNodes(graph, &n));
  std::vector<const OrtNode*> v(n);
  if (n) Ort::ThrowOnError(Api().Graph_GetNodes(graph, v.data(), n));
  return v;
}

// A group at run time: the anchor's kernel with the tail fused in, and where each of its inputs
// comes from. ORT owns the OrtNodeComputeInfo's lifetime (ReleaseNodeComputeInfos -> ReleaseGroup).
struct GroupCompute : OrtNodeComputeInfo {
  GroupCompute(const EpConfig& cfg, std::string name) : OrtNodeComputeInfo{}, config(cfg), where(std::move(name)) {
    ort_version_supported = ORT_API_VERSION;
    CreateState = CreateStateImpl;
    Compute = ComputeImpl;
    ReleaseState = ReleaseStateImpl;
  }
  ~GroupCompute() {
    for (void* p : owned_packs) FreePackedBytes(p);
  }

  static OrtStatus* ORT_API_CALL CreateStateImpl(OrtNodeComputeInfo* p, OrtNodeComputeContext* context,
                                                 void** state) noexcept {
    auto* self = static_cast<GroupCompute*>(p);
    *state = self;  // the kernel is re-entrant: one state serves every run
    // The fused node's name (ORT's events for the group carry it): Anvil's event takes it too.
    return Guard("CreateState", [&]() -> Status {
      const char* name = context ? Ort::GetEpApi().NodeComputeContext_NodeName(context) : nullptr;
      std::lock_guard<std::mutex> lock(self->name_mutex);
      if (name && self->node_name.empty()) self->node_name = name;
      return {};
    });
  }
  static void ORT_API_CALL ReleaseStateImpl(OrtNodeComputeInfo*, void*) noexcept {}

  static OrtStatus* ORT_API_CALL ComputeImpl(OrtNodeComputeInfo* p, void*, OrtKernelContext* context) noexcept {
    auto* self = static_cast<GroupCompute*>(p);
    return Guard(self->where.c_str(), [&]() -> Status {
      // In ORT's profile a group is one event: its pattern as the op, the fused node's name.
      ProfileScope profile(self->pattern, self->node_name, self->config.threads);
      OrtTaskRunner runner(context, self->config.threads);
      ScopedTaskRunner on_ort_pool(&runner);
      ComputeContext ctx(context, self->config, self->scratch_allocator, &self->bindings);
      ctx.set_where(&self->where);
      if (profile) ctx.ProfileInto(profile.impl_slot(), profile.threads_slot());
      Status s = self->kernel->Compute(ctx);
      if (profile) self->Describe(ctx, profile);
      if (!s.ok()) return Fail("Anvil ", self->where, ": ", s.message());
      return s;
    });
  }

  void Describe(const ComputeContext& ctx, ProfileScope& profile) const noexcept try {
    profile.Stop();
    std::vector<TensorView> views(ctx.InputCount());
    std::vector<const Shape*> shapes(views.size(), nullptr);
    for (size_t i = 0; i < views.size(); ++i) {
      views[i] = ctx.Input(i);  // a packed weight: its shape, no data
      if (views[i].type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED) shapes[i] = &views[i].shape;
    }
    profile.SetInputShapes(shapes);
    profile.SetLayout(layout);
    if (profile.impl().empty()) {
      const char* fixed = kernel->Impl();
      profile.SetImpl(fixed ? fixed : "anvil:" + anchor_op);
    }
  } catch (...) {
  }

  // Holds a copy of a constant and binds input i to it.
  void BindCopy(size_t i, const TensorView& c) {
    const size_t bytes = static_cast<size_t>(c.size()) * ElemSize(c.type);
    constants.emplace_back(bytes);
    if (bytes) std::memcpy(constants.back().data(), c.data, bytes);
    bindings[i] = InputBinding{-1, TensorView{c.type, c.shape, constants.back().data()}};
  }

  std::unique_ptr<Kernel> kernel;
  const EpConfig config;
  std::string where;  // for messages: "fused Conv + Relu (node 'conv1')"
  // For the profile: "Conv + Relu", the fused node's name (set by CreateState, before any run), the anchor's op.
  std::string pattern, node_name, anchor_op;
  std::mutex name_mutex;
  const char* layout = "NCHW";
  std::vector<InputBinding> bindings;
  std::vector<std::vector<uint8_t>> constants;  // copies the bindings point into (never reallocated
                                                // after binding: reserved up front)
  std::vector<std::shared_ptr<const PackedWeightCache::Entry>> cached_packs;
  std::vector<void*> owned_packs;  // AllocatePackedBytes
  ScratchAllocator scratch_allocator;
};

}  // namespace

Status CompileGroup(const OrtGraph* graph, const OrtNode* fused_node, const Group& group, const EpConfig& config,
                    std::shared_ptr<PackedWeightCache> cache, OrtNodeComputeInfo** out) {
  *out = nullptr;
  // The anchor: the node whose output is the group's key.
  const OrtNode* anchor = nullptr;
  std::vector<const OrtNode*> nodes = GraphNodes(graph);
  for (const OrtNode* n : nodes) {
    std::vector<const OrtValueInfo*> outs = NodeValues(n, false);
    if (!outs.empty() && ValueName(outs[0]) == group.anchor_output) anchor = n;
  }
  ANVIL_CHECK(anchor != nullptr, "the fused group '", group.description, "' lost its anchor (", group.anchor_output, ")");
  GraphNodeInfo info(anchor);
  const char* domain = nullptr;
  Ort::ThrowOnError(Api().Node_GetDomain(anchor, &domain));
  const KernelEntry* entry = FindKernel(domain ? domain : "", info.OpType().c_str(), info.SinceVersion());
  ANVIL_CHECK(entry != nullptr && entry->create != nullptr, "no kernel for the anchor ", info.OpType());

  auto compute = std::make_unique<GroupCompute>(config, "fused " + group.description + " (node '" + info.Name() + "')");
  ANVIL_RETURN_IF_ERROR(entry->create(info, &compute->kernel));
  compute->pattern = group.description;
  compute->anchor_op = info.OpType();
  compute->layout = IsNhwcDomain(domain) ? "NHWC" : "NCHW";

  // Inputs: the anchor's own, then one per tensor operand of the tail.
  const std::vector<const OrtValueInfo*> fused_inputs = NodeValues(fused_node, true);
  auto fused_index = [&](const std::string& name) -> int64_t {
    for (size_t i = 0; i < fused_inputs.size(); ++i)
      if (fused_inputs[i] && ValueName(fused_inputs[i]) == name) return static_cast<int64_t>(i);
    return -1;
  };
  const size_t own = info.InputCount();
  compute->bindings.resize(own + group.operand_values.size());
  compute->constants.reserve(compute->bindings.size());

  std::vector<PostOp> steps = group.steps;
  for (PostOp& s : steps)
    if (s.binary()) s.operand += own;
  ANVIL_RETURN_IF_ERROR(compute->kernel->Fuse(steps));  // before packing: the layout may depend on it

  const std::vector<const OrtValueInfo*> anchor_inputs = NodeValues(anchor, true);
  for (size_t i = 0; i < own; ++i) {
    if (!info.InputExists(i)) continue;  // a missing optional input stays unbound
    if (std::optional<TensorView> c = info.ConstantInput(i)) {
      PackSink sink(nullptr);  // Anvil's memory: packed weights may be shared beyond this session
      bool packed = false;
      ANVIL_RETURN_IF_ERROR(compute->kernel->PrePack(*c, static_cast<int>(i), sink, packed));
      if (!packed) {
        compute->BindCopy(i, *c);
        continue;
      }
      std::vector<size_t> sizes = sink.sizes();
      if (cache) {
        bool reused = false;
        std::vector<std::vector<uint8_t>> identities = sink.identities();
        auto e = cache->Intern(sink.Release(), sizes, std::move(identities), reused);
        ANVIL_RETURN_IF_ERROR(compute->kernel->UsePacked(static_cast<int>(i), e->buffers(), e->sizes()));
        compute->cached_packs.push_back(std::move(e));
      } else {
        std::vector<const void*> ptrs(sink.buffers().begin(), sink.buffers().end());
        ANVIL_RETURN_IF_ERROR(compute->kernel->UsePacked(static_cast<int>(i), ptrs, sizes));
        for (void* b : sink.Release()) compute->owned_packs.push_back(b);
      }
      compute->bindings[i] = InputBinding{-1, TensorView{c->type, c->shape, nullptr}};  // packed: never read
      continue;
    }
    const std::string name = ValueName(anchor_inputs[i]);
    const int64_t at = fused_index(name);
    ANVIL_CHECK(at >= 0, "input '", name, "' of ", info.Name(), " is not an input of its fused node");
    compute->bindings[i].index = at;
  }

  // Tensor operands: a fused-node input, or a constant held here.
  for (size_t k = 0; k < group.operand_values.size(); ++k) {
    const std::string& name = group.operand_values[k];
    const int64_t at = fused_index(name);
    if (at >= 0) {
      compute->bindings[own + k].index = at;
      continue;
    }
    // Not an input: a constant initializer (dropped from the fused node's inputs).
    bool bound = false;
    for (const OrtNode* n : nodes) {
      for (const OrtValueInfo* v : NodeValues(n, true)) {
        if (bound || v == nullptr || ValueName(v) != name) continue;
        bool constant = false;
        const OrtValue* value = nullptr;
        Ort::ThrowOnError(Api().ValueInfo_IsConstantInitializer(v, &constant));
        if (constant) Ort::ThrowOnError(Api().ValueInfo_GetInitializerValue(v, &value));
        ANVIL_CHECK(value != nullptr, "operand '", name, "' of the fused group is neither an input nor a constant");
        compute->BindCopy(own + k, ViewOf(value));
        bound = true;
      }
    }
    ANVIL_CHECK(bound, "operand '", name, "' of the fused group '", group.description, "' not found");
  }
  *out = compute.release();
  return {};
}

void ReleaseGroup(OrtNodeComputeInfo* info) { delete static_cast<GroupCompute*>(info); }

}  // namespace anvil::fusion
