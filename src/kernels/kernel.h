// Anvil's kernel contract. A kernel is created once per node (attributes parsed and validated,
// constant weights packed), then Compute runs it; Compute is const and re-entrant because several
// threads may call Run on one session.
//
// Every kernel class K provides
//   static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
// Create validates the node (attributes, types, known shapes). With out == nullptr it only checks:
// GetCapability claims a node only if Create(node, nullptr) succeeds, so a kernel never rejects at
// run time a node it accepted at claim time.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/shape.h"
#include "core/status.h"
#include "ep/ort_api.h"

namespace anvil {

using ElemType = ONNXTensorElementDataType;
size_t ElemSize(ElemType type);
const char* ElemTypeName(ElemType type);

// A tensor that Anvil reads: type, shape, data. Never owns its data.
struct TensorView {
  ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  Shape shape;
  const void* data = nullptr;
  int64_t size() const { return NumElements(shape); }
  template <typename T>
  const T* as() const { return static_cast<const T*>(data); }
};

// What a kernel may know about its node before it runs. Implemented over an OrtNode (claim time)
// and over an OrtKernelInfo (creation time), so the same Create code serves both.
class NodeInfo {
 public:
  virtual ~NodeInfo() = default;
  virtual std::string Name() const = 0;
  virtual std::string OpType() const = 0;
  virtual int SinceVersion() const = 0;

  virtual size_t InputCount() const = 0;
  virtual bool InputExists(size_t i) const = 0;  // false for a missing optional input
  virtual ElemType InputType(size_t i) const = 0;
  // Shape as far as known: nullopt if the rank is unknown; unknown dims are -1.
  virtual std::optional<Shape> InputShape(size_t i) const = 0;
  // The value of a constant initializer input, or nullopt.
  virtual std::optional<TensorView> ConstantInput(size_t i) const = 0;
  virtual size_t OutputCount() const = 0;
  virtual ElemType OutputType(size_t i) const = 0;

  // Attributes; nullopt when absent (or of another type).
  virtual std::optional<int64_t> Int(const char* name) const = 0;
  virtual std::optional<float> Float(const char* name) const = 0;
  virtual std::optional<std::string> String(const char* name) const = 0;
  virtual std::optional<std::vector<int64_t>> Ints(const char* name) const = 0;
  virtual std::optional<std::vector<float>> Floats(const char* name) const = 0;
  virtual std::optional<std::vector<std::string>> Strings(const char* name) const = 0;
  // A TENSOR attribute (ConstantOfShape's value): type, shape and a copy of its bytes; nullopt
  // when absent, of another kind, or of a type without a fixed element size.
  struct TensorAttr {
    ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    Shape shape;
    std::vector<uint8_t> bytes;
  };
  virtual std::optional<TensorAttr> Tensor(const char* name) const {
    (void)name;
    return std::nullopt;
  }

  int64_t Int(const char* name, int64_t dflt) const { return Int(name).value_or(dflt); }
  float Float(const char* name, float dflt) const { return Float(name).value_or(dflt); }
  std::string String(const char* name, const std::string& dflt) const { return String(name).value_or(dflt); }
  std::vector<int64_t> Ints(const char* name, std::vector<int64_t> dflt) const {
    return Ints(name).value_or(std::move(dflt));
  }
  bool InputPresent(size_t i) const { return i < InputCount() && InputExists(i); }
};

// Settings that every kernel of one EP instance shares.
struct EpConfig {
  int threads = 1;
  const char* threads_source = "default";     // where the thread count came from, for the log
  bool share_weights = true;                  // packed weights go through the factory's cache
  bool fuse = true;                           // fused groups (src/fusion) claimed through Compile
  bool nhwc = true;                           // layout=nhwc: ORT hands Conv over channels-last
  bool log_dispatch = false;                  // option log=dispatch: Explain() lines on stderr
  const OrtMemoryInfo* cpu_memory = nullptr;  // owned by the EP
};

// The allocator a kernel's calls take scratch memory from: obtained from ORT on the first call
// that needs one and kept for the kernel's lifetime (ORT hands out a new wrapper per request).
class ScratchAllocator {
 public:
  ScratchAllocator() = default;
  ~ScratchAllocator();
  ScratchAllocator(const ScratchAllocator&) = delete;
  ScratchAllocator& operator=(const ScratchAllocator&) = delete;
  OrtAllocator* Get(OrtKernelContext* ctx, const OrtMemoryInfo* memory);

 private:
  std::atomic<OrtAllocator*> allocator_{nullptr};
};

// Where one of a kernel's inputs comes from when the kernel runs inside a fused group
// (src/fusion): an input of the fused node, or a constant the group holds (data == nullptr and
// index < 0: the optional input is missing).
struct InputBinding {
  int64_t index = -1;  // the fused node's input, or -1
  TensorView constant;
};

// Per-call access to inputs, outputs and scratch memory.
class ComputeContext {
 public:
  // `bindings` (a fused group's, may be null) maps the kernel's inputs to the context's.
  ComputeContext(OrtKernelContext* ctx, const EpConfig& config, ScratchAllocator& scratch_allocator,
                 const std::vector<InputBinding>* bindings = nullptr);
  ~ComputeContext();
  ComputeContext(const ComputeContext&) = delete;
  ComputeContext& operator=(const ComputeContext&) = delete;

  size_t InputCount() const;
  bool HasInput(size_t i) const;
  TensorView Input(size_t i) const;  // if missing: type UNDEFINED, shape {0}, data nullptr
  size_t OutputCount() const;
  Status Output(size_t i, const Shape& shape, void** data);
  template <typename T>
  Status Output(size_t i, const Shape& shape, T** data) {
    void* p = nullptr;
    ANVIL_RETURN_IF_ERROR(Output(i, shape, &p));
    *data = static_cast<T*>(p);
    return {};
  }
  // Output 0 as this call made it (made: Output(0, ...) was called; data null if it has no
  // elements): where a fused group whose kernel does not take its tail (Kernel::Fuse) applies the
  // tail after Compute. Recorded only for a fused group's calls (bindings given).
  bool output0_made() const { return output0_made_; }
  void* output0() const { return output0_; }
  const Shape& output0_shape() const { return output0_shape_; }
  // Scratch memory from ORT's allocator, released when the context ends. 64-byte aligned.
  void* Scratch(size_t bytes);
  template <typename T>
  T* Scratch(size_t count) { return static_cast<T*>(Scratch(count * sizeof(T))); }
  const EpConfig& config() const { return config_; }
  // The dispatch log (option log=dispatch): one line on stderr about how this node runs, e.g.
  // the implementation a plan chose. Kernels call it when they build a plan, never per call.
  bool explaining() const { return config_.log_dispatch; }
  void Explain(const std::string& message) const;
  void set_where(const std::string* where) { where_ = where; }  // "Conv node 'x'", for Explain
  // For the profiler: the implementation this call ran (a oneDNN primitive's impl_info_str, kept
  // in its plan) and the threads it was made for. A no-op unless the call is being profiled.
  void NoteImpl(const std::string& impl, int threads) {
    if (profiled_impl_ == nullptr) return;
    *profiled_impl_ = impl;
    *profiled_threads_ = threads;
  }
  // Set by the EP when this call is profiled (ProfileScope's slots).
  void ProfileInto(std::string* impl, int* threads) {
    profiled_impl_ = impl;
    profiled_threads_ = threads;
  }

 private:
  TensorView ContextInput(size_t i) const;  // the kernel context's input i (as Input if missing)

  OrtKernelContext* ctx_;
  const EpConfig& config_;
  const std::vector<InputBinding>* bindings_;
  const std::string* where_ = nullptr;
  ScratchAllocator& scratch_allocator_;
  OrtAllocator* allocator_ = nullptr;
  // Scratch buffers of this call: a few inline, more in overflow_ (rare), freed at the end.
  std::array<void*, 8> scratch_{};
  size_t scratch_count_ = 0;
  std::vector<void*> overflow_;
  std::string* profiled_impl_ = nullptr;
  int* profiled_threads_ = nullptr;
  bool output0_made_ = false;
  void* output0_ = nullptr;
  Shape output0_shape_;
};

// Memory for pre-packed weights, from the allocator ORT hands to PrePackWeight.
class PackSink {
 public:
  // allocator == nullptr: Anvil's own memory (AllocatePackedBytes), for its cross-session cache.
  explicit PackSink(OrtAllocator* allocator) : allocator_(allocator) {}
  ~PackSink();
  // A zero-filled buffer. Packed weights are shared by content, so their bytes must be a function
  // of the weight; a buffer whose raw bytes are not (a serialized descriptor with padding holes)
  // passes `identity`, canonical bytes that stand for its contents when buffers are compared.
  void* Allocate(size_t bytes, std::vector<uint8_t> identity = {});
  // Hand over ownership of everything allocated so far.
  std::vector<void*> Release() { return std::exchange(buffers_, {}); }
  const std::vector<void*>& buffers() const { return buffers_; }
  const std::vector<size_t>& sizes() const { return sizes_; }
  const std::vector<std::vector<uint8_t>>& identities() const { return identities_; }

 private:
  OrtAllocator* allocator_;
  std::vector<void*> buffers_;
  std::vector<size_t> sizes_;
  std::vector<std::vector<uint8_t>> identities_;
};

// An element-wise step a kernel applies to its output before storing it: the tail of a fused
// group (src/fusion/patterns.inc). Unary steps compute y = f(y); binary steps combine y with a
// float tensor that broadcasts into y's shape without expanding it: the kernel's input `operand`
// (a fused group appends its operands after the anchor node's own inputs).
struct PostOp {
  enum class Kind : uint8_t {
    // unary
    kRelu,         // y < 0 ? alpha * y : y (alpha 0: Relu; LeakyRelu)
    kClip,         // min(max(y, alpha), beta)
    kSigmoid,
    kTanh,
    kHardSigmoid,  // max(0, min(1, alpha * y + beta))
    kHardSwish,    // y * max(0, min(1, alpha * y + beta))
    kSwish,        // y * sigmoid(alpha * y)
    kElu,          // y < 0 ? alpha * (exp(y) - 1) : y
    kLinear,       // alpha * y + beta
    kAbs,
    kGeluErf,
    kGeluTanh,
    // binary, y = y op operand
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMax,
    kMin,
    // ---- Anvil's only (anvil_only(): no oneDNN post-op; keep them last) ----
    // y = (y - mean) / sqrt(var + alpha) * operand over the last axis, the operand a row of its
    // length (a LayerNorm after a matrix product; its bias follows as an Add of a tensor). Applied
    // by Anvil's pass only, row by row.
    kLayerNorm,
    // y += the operand zero-padded at the end of `axis`: the operand has y's shape but a smaller
    // dim at that axis (a residual Add of Concat(t, zeros), BlazeFace's channel pad). Applied by
    // Anvil's code only (its pass, or the pointwise kernel in registers).
    kAddPadded,
  };
  Kind kind = Kind::kLinear;
  float alpha = 1.f, beta = 0.f;
  size_t operand = 0;
  int32_t axis = 0;    // kAddPadded: the padded axis (0 <= axis < the output's rank)
  int64_t extent = 0;  // kAddPadded: the operand's size along it (the output's is larger)
  bool binary() const { return kind >= Kind::kAdd; }
  // No oneDNN post-op computes it: Anvil's code applies it (and what follows it in a tail).
  bool anvil_only() const { return kind >= Kind::kLayerNorm; }
};
const char* PostOpName(PostOp::Kind kind);
constexpr size_t kMaxPostOps = 16;  // steps in one fused tail

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status Compute(ComputeContext& ctx) const = 0;

  // Optional slot for fused groups: apply `ops` to the output (output 0) before it is stored.
  // Called once, before PrePack and Compute; a kernel that cannot refuses, and the group is not
  // formed (fusion checks this at claim time on a throwaway kernel).
  virtual Status Fuse(const std::vector<PostOp>& ops) {
    (void)ops;
    return Fail("this kernel takes no fused element-wise steps");
  }
  // What runs this node, for the profiler's "impl": null means Anvil's own kernel, reported as
  // "anvil:<OpType>". A kernel whose implementation is chosen per call (oneDNN's primitive per
  // shape) also names it per call with ComputeContext::NoteImpl; this is the fallback.
  virtual const char* Impl() const { return nullptr; }

  // Optional slot: pack the constant input `input_index` into memory from `sink` and set packed.
  // The packed bytes must depend only on the weight's value (ORT shares them across sessions
  // by content), and are handed back through UsePacked, never kept from here.
  virtual Status PrePack(const TensorView& weight, int input_index, PackSink& sink, bool& packed) {
    (void)weight, (void)input_index, (void)sink;
    packed = false;
    return {};
  }
  // Receives the packed buffers for `input_index`: this kernel's own or ones shared by another
  // session. They stay valid for the kernel's lifetime. Compute must not read the original input.
  virtual Status UsePacked(int input_index, const std::vector<const void*>& buffers,
                           const std::vector<size_t>& sizes) {
    (void)buffers, (void)sizes;
    return Fail("kernel has no packed input ", input_index);
  }
};

// Type sets for registration: a bit per ONNXTensorElementDataType.
using TypeSet = uint64_t;
constexpr TypeSet TypeBit(ElemType t) { return TypeSet{1} << static_cast<int>(t); }
constexpr TypeSet kFloat = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
constexpr TypeSet kInt32 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32);
constexpr TypeSet kInt64 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64);
constexpr TypeSet kBool = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL);
constexpr TypeSet kUint8 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8);
constexpr TypeSet kInt8 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8);
constexpr TypeSet kDouble = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);
// Float plus the integer types shape computations use.
constexpr TypeSet kFloatInts = kFloat | kInt32 | kInt64;
// Types data-movement kernels copy without looking at (Reshape, Concat, Slice, Transpose, ...).
constexpr TypeSet kMovable = kFloat | kInt32 | kInt64 | kBool | kUint8 | kInt8 | kDouble;

struct TypeConstraint {
  const char* name;  // the schema's type parameter: "T", "T1", "Tind", ...
  TypeSet types;
};

using KernelCreateFn = Status (*)(const NodeInfo& node, std::unique_ptr<Kernel>* out);
// For ops ORT implements for plugins (control flow): makes the OrtKernelImpl itself.
using OrtKernelCreateFn = OrtStatus* (*)(const OrtKernelInfo* info, OrtKernelImpl** out);

// One row of THE list of what Anvil claims (src/kernels/kernels.inc).
struct KernelEntry {
  const char* domain;  // "" is ai.onnx
  const char* op_type;
  int since;           // schema revision range, inclusive
  int until;           // kLatest for the newest revision
  std::vector<TypeConstraint> constraints;
  KernelCreateFn create;           // the claim-time check, and the kernel (unless ort_create)
  OrtKernelCreateFn ort_create;    // optional: ORT makes the kernel (If)
  uint32_t cpu_inputs;             // inputs ORT must keep in CPU memory (bit i: input i)
  bool output0_views_input0;       // ORT may hand output 0 input 0's buffer (a reshape: no copy)
};
constexpr int kLatest = 2147483647;
// ORT's internal domain for the channels-last ops (layout=nhwc).
constexpr const char* kNhwcDomain = "com.ms.internal.nhwc";
inline bool IsNhwcDomain(const char* domain) {
  return domain != nullptr && std::string(domain) == kNhwcDomain;
}

const std::vector<KernelEntry>& AllKernels();
const KernelEntry* FindKernel(const char* domain, const char* op_type, int since);

}  // namespace anvil
