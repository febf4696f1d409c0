#include "fusion/group_kernel.h"

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "ep/boundary.h"
#include "ep/node_info_ort.h"
#include "ep/profiler.h"
#include "ep/task_runner.h"
#include "fusion/post_ops.h"

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
      if (s.ok() && !self->tail.empty()) s = self->ApplyTail(ctx);
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

  // The tail, when the head's kernel does not take it (Kernel::Fuse): over its output 0.
  Status ApplyTail(ComputeContext& ctx) const {
    ANVIL_CHECK(ctx.output0_made(), "the fused head made no output");
    PostOpOperands operands;
    GatherPostOpOperands(tail, ctx, &operands);
    ANVIL_RETURN_IF_ERROR(CheckPostOpOperands(tail, operands, ctx.output0_shape()));
    if (NumElements(ctx.output0_shape()) == 0) return {};
    ApplyPostOps(tail, operands, ctx.output0_shape(), static_cast<float*>(ctx.output0()));
    return {};
  }

  // Holds a copy of a constant and binds input i to it.
  void BindCopy(size_t i, const TensorView& c) {
    const size_t bytes = static_cast<size_t>(c.size()) * ElemSize(c.type);
    constants.emplace_back(bytes);
    if (bytes) std::memcpy(constants.back().data(), c.data, bytes);
    bindings[i] = InputBinding{-1, TensorView{c.type, c.shape, constants.back().data()}};
  }

  std::unique_ptr<Kernel> kernel;
  std::vector<PostOp> tail;  // applied here after the kernel (a function head's kernel without Fuse)
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

// The value of the fused graph named `name` (an input or output of one of its nodes), or null.
const OrtValueInfo* FindValue(const std::vector<const OrtNode*>& nodes, const std::string& name) {
  for (const OrtNode* n : nodes)
    for (bool inputs : {true, false})
      for (const OrtValueInfo* v : NodeValues(n, inputs))
        if (v && ValueName(v) == name) return v;
  return nullptr;
}

}  // namespace

Status CompileGroup(const OrtGraph* graph, const OrtNode* fused_node, const Group& group, const EpConfig& config,
                    std::shared_ptr<PackedWeightCache> cache, OrtNodeComputeInfo** out) {
  *out = nullptr;
  std::vector<const OrtNode*> nodes = GraphNodes(graph);
  // The head, as a NodeInfo its kernel is created from, and the values its inputs are.
  std::unique_ptr<NodeInfo> head;
  std::vector<const OrtValueInfo*> head_inputs;
  std::string domain, name;
  if (group.function.op.empty()) {  // an anchor: the node whose output is the group's key
    const OrtNode* anchor = nullptr;
    for (const OrtNode* n : nodes) {
      std::vector<const OrtValueInfo*> outs = NodeValues(n, false);
      if (!outs.empty() && ValueName(outs[0]) == group.head_output) anchor = n;
    }
    ANVIL_CHECK(anchor != nullptr, "the fused group '", group.description, "' lost its anchor (", group.head_output, ")");
    const char* d = nullptr;
    Ort::ThrowOnError(Api().Node_GetDomain(anchor, &d));
    domain = d ? d : "";
    head = std::make_unique<GraphNodeInfo>(anchor);
    head_inputs = NodeValues(anchor, true);
    name = head->Name();
  } else {  // a function: its op over the values the match found
    for (const std::string& v : group.function.inputs) {
      head_inputs.push_back(v.empty() ? nullptr : FindValue(nodes, v));
      ANVIL_CHECK(v.empty() || head_inputs.back() != nullptr, "input '", v, "' of the fused group '", group.description,
                  "' not found");
    }
    const OrtValueInfo* y = FindValue(nodes, group.head_output);
    ANVIL_CHECK(y != nullptr, "the fused group '", group.description, "' lost its output (", group.head_output, ")");
    name = GraphNodeInfo(fused_node).Name();
    head = std::make_unique<FunctionNodeInfo>(name, group.function.op, group.function.since, head_inputs,
                                              std::vector<const OrtValueInfo*>{y}, group.function.attrs);
  }
  const NodeInfo& info = *head;
  const KernelEntry* entry = FindKernel(domain.c_str(), info.OpType().c_str(), info.SinceVersion());
  ANVIL_CHECK(entry != nullptr && entry->create != nullptr, "no kernel for the head ", info.OpType());

  auto compute = std::make_unique<GroupCompute>(config, "fused " + group.description + " (node '" + name + "')");
  ANVIL_RETURN_IF_ERROR(entry->create(info, &compute->kernel));
  compute->pattern = group.description;
  compute->anchor_op = info.OpType();
  compute->layout = IsNhwcDomain(domain.c_str()) ? "NHWC" : "NCHW";

  // Inputs: the head's own, then one per tensor operand of the tail.
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
  if (!steps.empty()) {  // before packing: the layout may depend on it
    // An anchor takes its tail (checked at claim time); an element-wise head's or a function's
    // kernel may not, and the group then applies the tail after it.
    if (!compute->kernel->Fuse(steps).ok()) compute->tail = steps;
  }

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
    const std::string value = ValueName(head_inputs[i]);
    const int64_t at = fused_index(value);
    ANVIL_CHECK(at >= 0, "input '", value, "' of ", name, " is not an input of its fused node");
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
