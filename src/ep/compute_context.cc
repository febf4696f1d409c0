#include <cstdio>
#include <cstring>

#include "ep/node_info_ort.h"
#include "ep/weight_cache.h"
#include "kernels/kernel.h"

namespace anvil {

size_t ElemSize(ElemType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
      return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
      return 8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
      return 2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
      return 1;
    default:
      return 0;
  }
}

const char* ElemTypeName(ElemType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "double";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    default: return "unsupported type";
  }
}


ScratchAllocator::~ScratchAllocator() {
  if (OrtAllocator* a = allocator_.load()) Ort::GetApi().ReleaseAllocator(a);
}

OrtAllocator* ScratchAllocator::Get(OrtKernelContext* ctx, const OrtMemoryInfo* memory) {
  OrtAllocator* a = allocator_.load(std::memory_order_acquire);
  if (a != nullptr) return a;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetAllocator(ctx, memory, &a));
  OrtAllocator* expected = nullptr;
  if (!allocator_.compare_exchange_strong(expected, a, std::memory_order_acq_rel)) {
    Ort::GetApi().ReleaseAllocator(a);  // another call got there first
    return expected;
  }
  return a;
}

const char* PostOpName(PostOp::Kind kind) {
  using K = PostOp::Kind;
  switch (kind) {
    case K::kRelu: return "relu";
    case K::kClip: return "clip";
    case K::kSigmoid: return "sigmoid";
    case K::kTanh: return "tanh";
    case K::kHardSigmoid: return "hardsigmoid";
    case K::kHardSwish: return "hardswish";
    case K::kSwish: return "swish";
    case K::kElu: return "elu";
    case K::kLinear: return "linear";
    case K::kAbs: return "abs";
    case K::kGeluErf: return "gelu_erf";
    case K::kGeluTanh: return "gelu_tanh";
    case K::kAdd: return "add";
    case K::kSub: return "sub";
    case K::kMul: return "mul";
    case K::kDiv: return "div";
    case K::kMax: return "max";
    case K::kMin: return "min";
    case K::kLayerNorm: return "layer_norm";
    case K::kAddPadded: return "add_padded";
  }
  return "?";
}

ComputeContext::ComputeContext(OrtKernelContext* ctx, const EpConfig& config, ScratchAllocator& scratch_allocator,
                               const std::vector<InputBinding>* bindings)
    : ctx_(ctx), config_(config), bindings_(bindings), scratch_allocator_(scratch_allocator) {}

ComputeContext::~ComputeContext() {
  for (size_t i = 0; i < scratch_count_; ++i) allocator_->Free(allocator_, scratch_[i]);
  for (void* p : overflow_) allocator_->Free(allocator_, p);
}

void ComputeContext::Explain(const std::string& message) const {
  if (!config_.log_dispatch) return;
  std::fprintf(stderr, "anvil dispatch: %s: %s\n", where_ ? where_->c_str() : "kernel", message.c_str());
}

size_t ComputeContext::InputCount() const {
  if (bindings_) return bindings_->size();
  size_t n = 0;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInputCount(ctx_, &n));
  return n;
}

bool ComputeContext::HasInput(size_t i) const {
  size_t index = i;
  if (bindings_) {
    if (i >= bindings_->size()) return false;
    const InputBinding& b = (*bindings_)[i];
    if (b.index < 0) return b.constant.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    index = static_cast<size_t>(b.index);
  }
  size_t n = 0;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInputCount(ctx_, &n));
  if (index >= n) return false;
  const OrtValue* v = nullptr;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInput(ctx_, index, &v));
  return v != nullptr;
}

namespace {
// A missing input reads as an empty 1-D tensor: a kernel that reads it without asking HasInput
// finds no elements (a clean size check fails) rather than one element at address 0.
TensorView Missing() { return TensorView{ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED, Shape{0}, nullptr}; }
}  // namespace

TensorView ComputeContext::Input(size_t i) const {
  if (bindings_) {
    if (i >= bindings_->size()) return Missing();
    const InputBinding& b = (*bindings_)[i];
    return b.index >= 0 ? ContextInput(static_cast<size_t>(b.index)) : b.constant;
  }
  return ContextInput(i);
}

TensorView ComputeContext::ContextInput(size_t i) const {
  size_t n = 0;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInputCount(ctx_, &n));
  if (i >= n) return Missing();
  const OrtValue* v = nullptr;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInput(ctx_, i, &v));
  return v ? ViewOf(v) : Missing();
}

size_t ComputeContext::OutputCount() const {
  size_t n = 0;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetOutputCount(ctx_, &n));
  return n;
}

Status ComputeContext::Output(size_t i, const Shape& shape, void** data) {
  for (int64_t d : shape) ANVIL_CHECK(d >= 0, "output ", i, " would have a negative dimension ", ToString(shape));
  // Dims computed from tensors (Reshape, Expand, Tile, ConstantOfShape, ...) can multiply past
  // int64_t: refuse here, once, before any kernel loops over a wrapped count.
  ANVIL_CHECK(NumElements(shape) != kTooManyElements, "output ", i, " would have shape ", ToString(shape),
              ": more than 2^63-1 elements");
  OrtValue* v = nullptr;
  if (OrtStatus* st = Ort::GetApi().KernelContext_GetOutput(ctx_, i, shape.data(), shape.size(), &v)) {
    // ORT checks the byte size and fails cleanly when the allocator cannot provide it.
    const std::string why = Ort::GetApi().GetErrorMessage(st);
    Ort::GetApi().ReleaseStatus(st);
    return Fail("cannot allocate output ", i, " of shape ", ToString(shape), ": ", why);
  }
  ANVIL_CHECK(v != nullptr, "output ", i, " is not available");
  *data = nullptr;
  Ort::ThrowOnError(Ort::GetApi().GetTensorMutableData(v, data));
  if (i == 0 && bindings_) {  // a fused group's call: the group may apply a tail there
    output0_made_ = true;
    output0_ = *data;
    output0_shape_ = shape;
  }
  return {};
}

void* ComputeContext::Scratch(size_t bytes) {
  if (allocator_ == nullptr) allocator_ = scratch_allocator_.Get(ctx_, config_.cpu_memory);
  if (scratch_count_ == scratch_.size()) overflow_.reserve(overflow_.size() + 1);  // may throw: before Alloc
  void* p = allocator_->Alloc(allocator_, bytes ? bytes : 1);
  if (p == nullptr) throw std::bad_alloc();
  if (scratch_count_ < scratch_.size()) {
    scratch_[scratch_count_++] = p;
  } else {
    overflow_.push_back(p);
  }
  return p;
}

PackSink::~PackSink() {
  for (void* p : buffers_) allocator_ ? allocator_->Free(allocator_, p) : FreePackedBytes(p);
}

void* PackSink::Allocate(size_t bytes, std::vector<uint8_t> identity) {
  void* p = nullptr;
  if (allocator_ == nullptr) {
    p = AllocatePackedBytes(bytes);
  } else {
    p = allocator_->Alloc(allocator_, bytes ? bytes : 1);
    if (p == nullptr) throw std::bad_alloc();
    // ORT de-duplicates shared packed weights by a hash of their bytes: padding must be deterministic.
    std::memset(p, 0, bytes);
  }
  buffers_.push_back(p);
  sizes_.push_back(bytes);
  identities_.push_back(std::move(identity));
  return p;
}

}  // namespace anvil
