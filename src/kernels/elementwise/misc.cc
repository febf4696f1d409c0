// Dropout, BitCast, Det, TensorScatter.
#include "kernels/elementwise/misc.h"

#include <cmath>
#include <cstring>
#include <random>

#include "compute/elementwise/half.h"
#include "compute/parallel.h"

namespace anvil {
namespace {

bool IsDropoutType(ElemType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE ||
         t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
}

double ReadFloatScalar(const TensorView& t) {
  switch (t.type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return t.as<float>()[0];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return t.as<double>()[0];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return ew::HalfToFloat(t.as<uint16_t>()[0]);
    default: return 0.0;
  }
}

void ParallelBytes(void* dst, const void* src, size_t bytes) {
  constexpr int64_t kBlock = 1 << 16;
  const int64_t blocks = static_cast<int64_t>((bytes + kBlock - 1) / kBlock);
  ParallelFor(blocks, kBlock / 4, [&](int64_t b, int64_t e) {
    const size_t lo = static_cast<size_t>(b) * kBlock;
    const size_t hi = std::min(bytes, static_cast<size_t>(e) * kBlock);
    std::memcpy(static_cast<char*>(dst) + lo, static_cast<const char*>(src) + lo, hi - lo);
  });
}

}  // namespace

// ---- Dropout

Status DropoutKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0), "Dropout has no input");
  auto k = std::make_unique<DropoutKernel>();
  k->type_ = node.InputType(0);
  ANVIL_CHECK(IsDropoutType(k->type_), "Dropout: type ", ElemTypeName(k->type_), " is not supported");
  k->has_mask_ = node.OutputCount() >= 2 && node.OutputType(1) != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  const int v = node.SinceVersion();
  ANVIL_CHECK(!(k->has_mask_ && v < 10), "Dropout before revision 10: the mask output (of type T) is not supported");
  k->inputs_ = v >= 12;
  if (k->inputs_) {
    if (node.InputPresent(1)) {
      ANVIL_CHECK(IsDropoutType(node.InputType(1)), "Dropout: ratio type ", ElemTypeName(node.InputType(1)),
                  " is not supported");
    }
    if (node.InputPresent(2)) {
      ANVIL_CHECK(node.InputType(2) == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "Dropout: training_mode must be bool");
    }
  }
  k->ratio_attr_ = node.Float("ratio", 0.5f);
  k->seed_ = node.Int("seed");
  if (out) *out = std::move(k);
  return {};
}

Status DropoutKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  bool training = false;
  double ratio = ratio_attr_;
  if (inputs_) {
    ratio = 0.5;
    if (ctx.HasInput(1)) {
      const TensorView r = ctx.Input(1);
      ANVIL_CHECK(r.size() == 1, "Dropout: ratio must be a scalar, got shape ", ToString(r.shape));
      ratio = ReadFloatScalar(r);
    }
    if (ctx.HasInput(2)) {
      const TensorView t = ctx.Input(2);
      ANVIL_CHECK(t.size() == 1, "Dropout: training_mode must be a scalar, got shape ", ToString(t.shape));
      training = t.as<uint8_t>()[0] != 0;
    }
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  uint8_t* mask = nullptr;
  if (has_mask_) ANVIL_RETURN_IF_ERROR(ctx.Output(1, x.shape, &mask));
  const int64_t n = x.size();
  if (n == 0) return {};
  if (!training || ratio == 0.0) {
    ParallelBytes(y, x.data, static_cast<size_t>(n) * ElemSize(type_));
    // ORT's CPU EP writes an all-false mask for revisions 10 and 11 (its identity kernel) and an
    // all-true one from revision 12; Anvil matches it.
    const int fill = inputs_ ? 1 : 0;
    if (mask) ParallelFor(n, 1, [&](int64_t b, int64_t e) { std::memset(mask + b, fill, static_cast<size_t>(e - b)); });
    return {};
  }
  ANVIL_CHECK(ratio >= 0.0 && ratio < 1.0, "Dropout: ratio ", ratio, " is outside [0, 1)");
  // Random: one sequential generator (the draw order defines the result for a given seed).
  std::mt19937_64 gen(seed_ ? static_cast<uint64_t>(*seed_) : std::random_device{}());
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const double scale = 1.0 / (1.0 - ratio);
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = uniform(gen) >= ratio;
    if (mask) mask[i] = keep ? 1 : 0;
    switch (type_) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
        static_cast<float*>(y)[i] = keep ? static_cast<float>(x.as<float>()[i] * scale) : 0.0f;
        break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
        static_cast<double*>(y)[i] = keep ? x.as<double>()[i] * scale : 0.0;
        break;
      default:
        static_cast<uint16_t*>(y)[i] =
            keep ? ew::FloatToHalf(static_cast<float>(ew::HalfToFloat(x.as<uint16_t>()[i]) * scale)) : 0;
        break;
    }
  }
  return {};
}

// ---- BitCast

Status BitCastKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0), "BitCast has no input");
  const ElemType from = node.InputType(0);
  const auto to = node.Int("to");
  ANVIL_CHECK(to.has_value(), "BitCast has no 'to' attribute");
  const ElemType t = static_cast<ElemType>(*to);
  ANVIL_CHECK((TypeBit(from) & kBitCastTypes) && (TypeBit(t) & kBitCastTypes), "BitCast from ", ElemTypeName(from),
              " to ", ElemTypeName(t), " is not supported");
  ANVIL_CHECK(ElemSize(from) == ElemSize(t), "BitCast: ", ElemTypeName(from), " and ", ElemTypeName(t),
              " differ in size");
  if (out) *out = std::make_unique<BitCastKernel>();
  return {};
}

Status BitCastKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() > 0) ParallelBytes(y, x.data, static_cast<size_t>(x.size()) * ElemSize(x.type));
  return {};
}

// ---- Det

Status DetKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0), "Det has no input");
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "Det: type ", ElemTypeName(node.InputType(0)),
              " is not supported");
  if (auto s = node.InputShape(0)) {
    ANVIL_CHECK(s->size() >= 2, "Det needs a rank of at least 2, got ", ToString(*s));
    const int64_t a = (*s)[s->size() - 2], b = (*s)[s->size() - 1];
    ANVIL_CHECK(a < 0 || b < 0 || a == b, "Det needs square matrices, got ", ToString(*s));
  }
  if (out) *out = std::make_unique<DetKernel>();
  return {};
}

Status DetKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const size_t r = x.shape.size();
  ANVIL_CHECK(r >= 2 && x.shape[r - 1] == x.shape[r - 2], "Det needs [..., M, M], got ", ToString(x.shape));
  const int64_t m = x.shape[r - 1];
  const Shape out_shape(x.shape.begin(), x.shape.end() - 2);
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t batch = NumElements(out_shape);
  if (batch == 0) return {};
  const float* a = x.as<float>();
  double* work = ctx.Scratch<double>(static_cast<size_t>(std::max<int64_t>(1, m * m)) *
                                     static_cast<size_t>(std::max<int64_t>(1, batch)));
  ParallelFor(batch, m * m * m + 1, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      double* w = work + item * m * m;
      const float* src = a + item * m * m;
      for (int64_t i = 0; i < m * m; ++i) w[i] = src[i];
      double det = 1.0;
      for (int64_t c = 0; c < m; ++c) {
        int64_t p = c;
        for (int64_t i = c + 1; i < m; ++i)
          if (std::fabs(w[i * m + c]) > std::fabs(w[p * m + c])) p = i;
        if (w[p * m + c] == 0.0) {
          det = 0.0;
          break;
        }
        if (p != c) {
          for (int64_t j = 0; j < m; ++j) std::swap(w[p * m + j], w[c * m + j]);
          det = -det;
        }
        const double piv = w[c * m + c];
        det *= piv;
        for (int64_t i = c + 1; i < m; ++i) {
          const double f = w[i * m + c] / piv;
          if (f == 0.0) continue;
          for (int64_t j = c + 1; j < m; ++j) w[i * m + j] -= f * w[c * m + j];
        }
      }
      y[item] = static_cast<float>(det);
    }
  });
  return {};
}

// ---- TensorScatter

Status TensorScatterKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0) && node.InputPresent(1), "TensorScatter needs past_cache and update");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK((TypeBit(t) & (kBitCastTypes | kBool)) && ElemSize(t) > 0, "TensorScatter: type ", ElemTypeName(t),
              " is not supported");
  ANVIL_CHECK(node.InputType(1) == t, "TensorScatter: update has another type than past_cache");
  if (node.InputPresent(2)) {
    ANVIL_CHECK(node.InputType(2) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "TensorScatter: write_indices must be int64");
  }
  auto k = std::make_unique<TensorScatterKernel>();
  k->axis_ = node.Int("axis", -2);
  const std::string mode = node.String("mode", "linear");
  ANVIL_CHECK(mode == "linear" || mode == "circular", "TensorScatter: mode '", mode, "' is not linear or circular");
  k->circular_ = mode == "circular";
  if (auto s = node.InputShape(0)) {
    const int64_t r = static_cast<int64_t>(s->size());
    int64_t a = 0;
    ANVIL_CHECK(NormalizeAxis(k->axis_, r, a) && a >= 1, "TensorScatter: axis ", k->axis_,
                " must name a dimension after the batch for rank ", r);
  }
  if (out) *out = std::move(k);
  return {};
}

Status TensorScatterKernel::Compute(ComputeContext& ctx) const {
  const TensorView past = ctx.Input(0), upd = ctx.Input(1);
  const int64_t r = static_cast<int64_t>(past.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, r, axis) && axis >= 1, "TensorScatter: axis ", axis_, " is out of range for ",
              ToString(past.shape));
  ANVIL_CHECK(upd.shape.size() == past.shape.size(), "TensorScatter: update ", ToString(upd.shape),
              " and past_cache ", ToString(past.shape), " differ in rank");
  for (int64_t d = 0; d < r; ++d) {
    ANVIL_CHECK(d == axis ? upd.shape[d] <= past.shape[d] : upd.shape[d] == past.shape[d], "TensorScatter: update ",
                ToString(upd.shape), " does not fit past_cache ", ToString(past.shape), " along axis ", axis);
  }
  const int64_t batch = past.shape[0], max_len = past.shape[axis], len = upd.shape[axis];
  std::vector<int64_t> where(static_cast<size_t>(batch), 0);
  if (ctx.HasInput(2)) {
    const TensorView w = ctx.Input(2);
    ANVIL_CHECK(w.size() == batch, "TensorScatter: write_indices has ", w.size(), " values for a batch of ", batch);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t v = w.as<int64_t>()[b];
      ANVIL_CHECK(v >= 0 && (circular_ ? (v < max_len || len == 0) : v <= max_len - len), "TensorScatter: write index ",
                  v, " (batch ", b, ") does not fit ", len, " values into a cache of ", max_len);
      where[b] = v;
    }
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, past.shape, &y));
  const size_t es = ElemSize(past.type);
  const int64_t total = past.size();
  if (total == 0) return {};
  ParallelBytes(y, past.data, static_cast<size_t>(total) * es);
  if (upd.size() == 0) return {};
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= past.shape[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= past.shape[d];
  const int64_t per_batch = outer / batch;
  const size_t row = static_cast<size_t>(inner) * es;
  char* out = static_cast<char*>(y);
  const char* src = static_cast<const char*>(upd.data);
  ParallelFor(outer, len * inner, [&](int64_t ob, int64_t oe) {
    for (int64_t o = ob; o < oe; ++o) {
      const int64_t start = where[o / per_batch];
      for (int64_t s = 0; s < len; ++s) {
        const int64_t at = circular_ ? (start + s) % max_len : start + s;
        std::memcpy(out + (static_cast<size_t>(o * max_len + at)) * row, src + static_cast<size_t>(o * len + s) * row, row);
      }
    }
  });
  return {};
}

}  // namespace anvil
