// RMSNormalization-23: y = x / sqrt(mean(x^2 over dims [axis, rank)) + epsilon) * scale (scale
// broadcast to X).
#include "compute/nn/attention.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
constexpr ElemType kF16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;

// Scale broadcasts to X (NumPy style, right-aligned; rank at most X's), as ORT's CPU EP allows.
bool ScaleFits(const Shape& x, const Shape& scale) {
  const int64_t rank = static_cast<int64_t>(x.size()), srank = static_cast<int64_t>(scale.size());
  if (srank > rank) return false;
  for (int64_t i = 0; i < srank; ++i) {
    if (scale[i] != 1 && scale[i] != x[rank - srank + i]) return false;
  }
  return true;
}

// True if scale varies along a dim left of `axis` (so each row has its own scale values).
bool ScalePerRow(const Shape& x, int64_t axis, const Shape& scale) {
  const int64_t rank = static_cast<int64_t>(x.size()), srank = static_cast<int64_t>(scale.size());
  for (int64_t i = 0; i < srank; ++i) {
    if (rank - srank + i < axis && scale[i] != 1) return true;
  }
  return false;
}

// Scale broadcast over x's dims [from, rank) into `out` (row-major over those dims).
template <typename T>
void ExpandScale(const Shape& x, int64_t from, const Shape& scale, const T* s, T* out, int64_t n) {
  const int64_t rank = static_cast<int64_t>(x.size()), srank = static_cast<int64_t>(scale.size());
  for (int64_t c = 0; c < n; ++c) {
    int64_t rem = c, idx = 0, stride = 1;
    for (int64_t d = rank - 1; d >= from; --d) {
      const int64_t i = rem % x[d];
      rem /= x[d];
      const int64_t sd = d - (rank - srank);
      if (sd >= 0) {
        if (scale[sd] != 1) idx += i * stride;
        stride *= scale[sd];
      }
    }
    out[c] = s[idx];
  }
}

template <typename T>
void Run(ComputeContext& ctx, const TensorView& x, const TensorView& scale, int64_t axis, int64_t rows, int64_t cols,
         double epsilon, void* y) {
  const T* s = scale.as<T>();
  int64_t size = scale.size(), row_stride = 0;
  if (ScalePerRow(x.shape, axis, scale.shape)) {
    T* e = ctx.Scratch<T>(static_cast<size_t>(rows * cols));
    ExpandScale(x.shape, 0, scale.shape, s, e, rows * cols);
    s = e, size = cols, row_stride = cols;
  } else if (size != 1 && size != cols) {
    T* e = ctx.Scratch<T>(static_cast<size_t>(cols));
    ExpandScale(x.shape, axis, scale.shape, s, e, cols);
    s = e, size = cols;
  }
  nn::RmsNormRows(x.as<T>(), s, size, row_stride, static_cast<T*>(y), rows, cols, epsilon);
}

}  // namespace

Status RmsNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == kF32 || t == kF64 || t == kF16, "RMSNormalization: only float, double and float16 are supported");
  ANVIL_CHECK(node.InputType(1) == t, "RMSNormalization: scale must have X's type");
  const int64_t stash = node.Int("stash_type", 1);
  ANVIL_CHECK(stash == 1, "RMSNormalization: only stash_type 1 (float) is supported");
  const int64_t axis = node.Int("axis", -1);
  if (auto s = node.InputShape(0)) {
    int64_t a = 0;
    ANVIL_CHECK(NormalizeAxis(axis, static_cast<int64_t>(s->size()), a), "RMSNormalization: axis ", axis,
                " out of range for rank ", s->size());
  }
  if (out) {
    auto k = std::make_unique<RmsNormKernel>();
    k->type_ = t;
    k->axis_ = axis;
    k->epsilon_ = node.Float("epsilon", 1e-5f);
    *out = std::move(k);
  }
  return {};
}

Status RmsNormKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), scale = ctx.Input(1);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "RMSNormalization: axis ", axis_, " out of range for input ",
              ToString(x.shape));
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? rows : cols) *= x.shape[i];
  ANVIL_CHECK(ScaleFits(x.shape, scale.shape), "RMSNormalization: scale ", ToString(scale.shape),
              " does not broadcast to X ", ToString(x.shape));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (rows == 0 || cols == 0) return {};
  if (type_ == kF64) {
    Run<double>(ctx, x, scale, axis, rows, cols, epsilon_, y);
  } else if (type_ == kF16) {  // in float, rounded to half at the end
    TensorView xf = x, sf = scale;
    float* xs = ctx.Scratch<float>(static_cast<size_t>(x.size()));
    float* ss = ctx.Scratch<float>(static_cast<size_t>(scale.size()));
    float* ys = ctx.Scratch<float>(static_cast<size_t>(x.size()));
    nn::HalfToFloatArray(x.as<uint16_t>(), xs, x.size());
    nn::HalfToFloatArray(scale.as<uint16_t>(), ss, scale.size());
    xf.data = xs, xf.type = kF32, sf.data = ss, sf.type = kF32;
    Run<float>(ctx, xf, sf, axis, rows, cols, epsilon_, ys);
    nn::FloatToHalfArray(ys, static_cast<uint16_t*>(y), x.size());
  } else {
    Run<float>(ctx, x, scale, axis, rows, cols, epsilon_, y);
  }
  return {};
}

}  // namespace anvil
