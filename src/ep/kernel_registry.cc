#include "ep/kernel_registry.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ep/boundary.h"
#include "ep/ep.h"
#include "ep/node_info_ort.h"
#include "ep/profiler.h"
#include "ep/task_runner.h"

namespace anvil {
namespace {

// One OrtKernelImpl per node: owns the Kernel and, in non-sharing pre-pack mode, its packed buffers.
struct KernelAdapter : OrtKernelImpl {
  KernelAdapter(std::unique_ptr<Kernel> k, const EpConfig& cfg, std::shared_ptr<PackedWeightCache> cache,
                std::string op, std::string name, const OrtLogger* log)
      : OrtKernelImpl{},
        kernel(std::move(k)),
        config(cfg),
        weight_cache(std::move(cache)),
        op_type(std::move(op)),
        node_name(std::move(name)),
        where(op_type + " node '" + node_name + "'"),
        default_impl("anvil:" + op_type),
        logger(log) {
    ort_version_supported = ORT_API_VERSION;
    flags = 0;
    Compute = ComputeImpl;
    Release = ReleaseImpl;
    PrePackWeight = PrePackWeightImpl;
    SetSharedPrePackedWeight = SetSharedPrePackedWeightImpl;
  }
  ~KernelAdapter() {
    for (auto& [allocator, p] : owned_packs) allocator->Free(allocator, p);
  }

  const std::string& Where() const { return where; }

  // Verbose log of where a packed weight lives; tests read it to tell owned, cached and shared
  // buffers apart: "<mode> pre-packed input <i> at <address>, <n> bytes".
  void LogPacked(const char* mode, int input_index, const std::vector<const void*>& buffers,
                 const std::vector<size_t>& sizes) const {
    if (logger == nullptr) return;
    char address[32];
    std::snprintf(address, sizeof(address), "%p", buffers.empty() ? nullptr : buffers[0]);
    size_t bytes = 0;
    for (size_t s : sizes) bytes += s;
    const std::string msg = "Anvil " + Where() + ": " + mode + " pre-packed input " + std::to_string(input_index) +
                            " at " + address + ", " + std::to_string(bytes) + " bytes";
    if (OrtStatus* st = Ort::GetApi().Logger_LogMessage(logger, ORT_LOGGING_LEVEL_VERBOSE, msg.c_str(), ORT_FILE,
                                                         __LINE__, "Anvil"))
      Ort::GetApi().ReleaseStatus(st);
  }

  static KernelAdapter* Self(OrtKernelImpl* p) { return static_cast<KernelAdapter*>(p); }

  static OrtStatus* ORT_API_CALL ComputeImpl(OrtKernelImpl* p, OrtKernelContext* context) noexcept {
    KernelAdapter* self = Self(p);
    return Guard(self->Where().c_str(), [&]() -> Status {
      // Profiling off: one thread-local load and a branch here, and in NoteImpl.
      ProfileScope profile(self->op_type, self->node_name, self->config.threads);
      OrtTaskRunner runner(context, self->config.threads);
      ScopedTaskRunner on_ort_pool(&runner);
      ComputeContext ctx(context, self->config, self->scratch_allocator);
      ctx.set_where(&self->where);
      if (profile) ctx.ProfileInto(profile.impl_slot(), profile.threads_slot());
      Status s = self->kernel->Compute(ctx);
      if (profile) self->Describe(ctx, profile);  // never fails the call
      if (!s.ok()) return Fail("Anvil ", self->Where(), ": ", s.message());
      return s;
    });
  }

  // The profiled call's details, gathered after its span ends.
  void Describe(const ComputeContext& ctx, ProfileScope& profile) const noexcept try {
    profile.Stop();
    const size_t n = ctx.InputCount();
    std::vector<TensorView> views(n);
    std::vector<const Shape*> shapes(n, nullptr);
    for (size_t i = 0; i < n; ++i) {
      views[i] = ctx.Input(i);
      if (views[i].data != nullptr || views[i].type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED)
        shapes[i] = &views[i].shape;
      else if (i < node_shapes.size() && node_shapes[i])
        shapes[i] = &*node_shapes[i];  // a pre-packed weight: ORT no longer passes it
    }
    profile.SetInputShapes(shapes);
    profile.SetLayout(layout);
    if (profile.impl().empty()) {
      const char* fixed = kernel->Impl();
      profile.SetImpl(fixed ? fixed : default_impl);
    }
  } catch (...) {
    // the event keeps what it has
  }

  static void ORT_API_CALL ReleaseImpl(OrtKernelImpl* p) noexcept { delete Self(p); }

  static OrtStatus* ORT_API_CALL PrePackWeightImpl(OrtKernelImpl* p, const OrtValue* tensor, int input_index,
                                                   OrtAllocator* allocator, OrtSharedPrePackedWeightCache* cache,
                                                   bool* is_packed) noexcept {
    KernelAdapter* self = Self(p);
    *is_packed = false;
    return Guard(self->Where().c_str(), [&]() -> OrtStatus* {
      SerialTaskRunner planning(self->config.threads);
      ScopedTaskRunner for_layouts(&planning);
      // With Anvil's cache the packed bytes live in Anvil's memory (they may outlive this session).
      PackSink sink(self->weight_cache ? nullptr : allocator);
      bool packed = false;
      Status s = self->kernel->PrePack(ViewOf(tensor), input_index, sink, packed);
      if (!s.ok()) return ToOrtStatus(Fail("Anvil ", self->Where(), ": pre-packing input ", input_index, ": ", s.message()));
      if (!packed) return nullptr;
      std::vector<const void*> ptrs(sink.buffers().begin(), sink.buffers().end());
      std::vector<size_t> sizes = sink.sizes();
      if (self->weight_cache) {
        // Anvil's cache: non-sharing mode as far as ORT is concerned; the kernel holds a reference.
        bool reused = false;
        std::vector<std::vector<uint8_t>> identities = sink.identities();
        auto entry = self->weight_cache->Intern(sink.Release(), sizes, std::move(identities), reused);
        Status used = self->kernel->UsePacked(input_index, entry->buffers(), entry->sizes());
        if (!used.ok()) return ToOrtStatus(Fail("Anvil ", self->Where(), ": ", used.message()));
        self->LogPacked(reused ? "cached (reused)" : "cached (new)", input_index, entry->buffers(), entry->sizes());
        self->cached_packs.push_back(std::move(entry));
      } else if (cache != nullptr) {
        // Sharing mode: the cache owns the buffers; ORT calls SetSharedPrePackedWeight next.
        std::vector<void*> mut(sink.buffers().begin(), sink.buffers().end());
        if (OrtStatus* st = Ort::GetEpApi().SharedPrePackedWeightCache_StoreWeightData(cache, mut.data(), sizes.data(), mut.size()))
          return st;
        sink.Release();
      } else {
        // Own mode: keep the buffers for the kernel's lifetime.
        Status used = self->kernel->UsePacked(input_index, ptrs, sizes);
        if (!used.ok()) return ToOrtStatus(Fail("Anvil ", self->Where(), ": ", used.message()));
        self->LogPacked("owned", input_index, ptrs, sizes);
        for (void* b : sink.Release()) self->owned_packs.emplace_back(allocator, b);
      }
      *is_packed = true;
      return nullptr;
    });
  }

  static OrtStatus* ORT_API_CALL SetSharedPrePackedWeightImpl(OrtKernelImpl* p, const void* const* buffers,
                                                              const size_t* sizes, size_t num_buffers,
                                                              int input_index) noexcept {
    KernelAdapter* self = Self(p);
    return Guard(self->Where().c_str(), [&]() -> Status {
      std::vector<const void*> ptrs(buffers, buffers + num_buffers);
      std::vector<size_t> sz(sizes, sizes + num_buffers);
      self->LogPacked("shared", input_index, ptrs, sz);
      return self->kernel->UsePacked(input_index, ptrs, sz);
    });
  }

  std::unique_ptr<Kernel> kernel;
  const EpConfig config;  // a copy: a session may release its EP before its kernels
  std::shared_ptr<PackedWeightCache> weight_cache;  // null: packed weights are the kernel's own or ORT's
  std::vector<std::shared_ptr<const PackedWeightCache::Entry>> cached_packs;
  std::string op_type;
  std::string node_name;
  std::string where;  // "Op node 'name'", for messages (made once: Compute must not allocate)
  std::string default_impl;  // "anvil:<OpType>", the profile's impl for Anvil's own kernels
  std::vector<std::optional<Shape>> node_shapes;  // inputs' shapes known at creation (for the profile)
  const char* layout = "NCHW";  // the node's activation layout (for the profile)
  const OrtLogger* logger;
  std::vector<std::pair<OrtAllocator*, void*>> owned_packs;
  ScratchAllocator scratch_allocator;
};

OrtStatus* ORT_API_CALL CreateKernelImpl(void* state, const OrtKernelInfo* info, OrtKernelImpl** out) noexcept {
  *out = nullptr;
  const auto* entry = static_cast<const KernelEntry*>(state);
  return Guard(entry->op_type, [&]() -> Status {
    const OrtEp* ep = nullptr;
    if (OrtStatus* st = Ort::GetEpApi().KernelInfo_GetEp(info, &ep)) {
      Ort::Status owned(st);
      return Fail("cannot find the EP of a ", entry->op_type, " kernel: ", owned.GetErrorMessage());
    }
    const auto* anvil_ep = static_cast<const AnvilEp*>(ep);
    const EpConfig& config = anvil_ep->config();
    KernelNodeInfo node(info);
    if (entry->ort_create != nullptr) {  // control flow: ORT makes the kernel and owns it
      if (OrtStatus* st = entry->ort_create(info, out)) {
        Ort::Status owned(st);
        return Fail("Anvil ", entry->op_type, " node '", node.Name(), "': ", owned.GetErrorMessage());
      }
      return {};
    }
    std::unique_ptr<Kernel> kernel;
    Status s = entry->create(node, &kernel);
    if (!s.ok()) return Fail("Anvil ", entry->op_type, " node '", node.Name(), "': ", s.message());
    const OrtLogger* logger = nullptr;
    if (OrtStatus* st = Ort::GetApi().KernelInfo_GetLogger(info, &logger)) Ort::GetApi().ReleaseStatus(st);
    auto adapter = std::make_unique<KernelAdapter>(std::move(kernel), config, anvil_ep->weight_cache(), entry->op_type,
                                                   node.Name(), logger);
    for (size_t i = 0; i < node.InputCount(); ++i) {
      std::optional<Shape> shape = node.InputExists(i) ? node.InputShape(i) : std::nullopt;
      if (shape && std::any_of(shape->begin(), shape->end(), [](int64_t d) { return d < 0; }))
        shape.reset();  // some dims unknown
      adapter->node_shapes.push_back(std::move(shape));
    }
    adapter->layout = IsNhwcDomain(entry->domain) ? "NHWC" : "NCHW";
    *out = adapter.release();
    return {};
  });
}

Status AddEntry(OrtKernelRegistry* registry, const char* ep_name, const KernelEntry& e) {
  Ort::KernelDefBuilder builder;
  builder.SetOperatorType(e.op_type).SetDomain(e.domain).SetSinceVersion(e.since, e.until).SetExecutionProvider(ep_name);
  for (int i = 0; i < 32; ++i)
    if (e.cpu_inputs & (1u << i)) builder.SetInputMemType(static_cast<size_t>(i), OrtMemTypeCPUInput);
  // ORT's allocation planner may then give output 0 input 0's buffer (as for its own Reshape).
  if (e.output0_views_input0) builder.AddInputOutputAlias(0, 0);
  for (const TypeConstraint& c : e.constraints) {
    std::vector<const OrtDataType*> types;
    for (int t = 0; t < 64; ++t) {
      if (!(c.types & (TypeSet{1} << t))) continue;
      const OrtDataType* dt = nullptr;
      Ort::ThrowOnError(Ort::GetEpApi().GetTensorDataType(static_cast<ONNXTensorElementDataType>(t), &dt));
      types.push_back(dt);
    }
    builder.AddTypeConstraint(c.name, types);
  }
  Ort::KernelDef def = builder.Build();
  Ort::ThrowOnError(Ort::GetEpApi().KernelRegistry_AddKernel(registry, def, CreateKernelImpl,
                                                              const_cast<KernelEntry*>(&e)));
  return {};
}

}  // namespace

Status BuildKernelRegistry(const char* ep_name, OrtKernelRegistry** out) {
  OrtKernelRegistry* registry = nullptr;
  Ort::ThrowOnError(Ort::GetEpApi().CreateKernelRegistry(&registry));
  Ort::KernelRegistry owner(registry);
  for (const KernelEntry& e : AllKernels()) ANVIL_RETURN_IF_ERROR(AddEntry(registry, ep_name, e));
  *out = owner.release();
  return {};
}

}  // namespace anvil
