// MatMulInteger and QLinearMatMul: numpy matmul shapes, int32 products of zero-point-shifted
// values, then (QLinearMatMul) requantization with a_scale * b_scale / y_scale.
#include <vector>

#include "kernels/quant/common.h"
#include "kernels/quant/quant.h"

namespace anvil {

using quant_detail::IsScalarLike;
using quant_detail::ScalarZeroPoint;

namespace {

constexpr ElemType kU8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
constexpr ElemType kS8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

bool Is8Bit(ElemType t) { return t == kU8 || t == kS8; }

// Input positions of the two ops.
struct Slots {
  size_t a, a_zp, b, b_zp, a_scale, b_scale, y_scale, y_zp;
};
constexpr Slots kMatMulInteger{0, 2, 1, 3, 99, 99, 99, 99};
constexpr Slots kQLinearMatMul{0, 2, 3, 5, 1, 4, 6, 7};

// The broadcast batch of a matmul: output shape and, per output matrix, the A and B matrix index.
struct Batch {
  Shape y;
  int64_t M = 1, N = 1, K = 1;
  std::vector<int64_t> a_index, b_index;
};

Status MatMulShapes(const Shape& a, const Shape& b, Batch* out) {
  ANVIL_CHECK(!a.empty() && !b.empty(), "MatMul inputs must have rank >= 1, got ", ToString(a), " and ", ToString(b));
  const int64_t ra = static_cast<int64_t>(a.size()), rb = static_cast<int64_t>(b.size());
  out->M = ra >= 2 ? a[ra - 2] : 1;
  out->K = a[ra - 1];
  const int64_t kb = rb >= 2 ? b[rb - 2] : b[0];
  out->N = rb >= 2 ? b[rb - 1] : 1;
  ANVIL_CHECK(out->K == kb, "MatMul: A ", ToString(a), " and B ", ToString(b), " disagree on K");
  const Shape ab(a.begin(), a.end() - std::min<int64_t>(ra, 2));
  const Shape bb(b.begin(), b.end() - std::min<int64_t>(rb, 2));
  Shape batch;
  ANVIL_CHECK(BroadcastShapes(ab, bb, batch), "MatMul: batch dims of ", ToString(a), " and ", ToString(b),
              " do not broadcast");
  out->y = batch;
  if (ra >= 2) out->y.push_back(out->M);
  if (rb >= 2) out->y.push_back(out->N);
  const int64_t count = NumElements(batch);
  const int64_t nb = static_cast<int64_t>(batch.size());
  out->a_index.assign(static_cast<size_t>(count), 0);
  out->b_index.assign(static_cast<size_t>(count), 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t rem = i, ai = 0, bi = 0, astride = 1, bstride = 1;
    for (int64_t d = nb - 1; d >= 0; --d) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      const int64_t da = d - (nb - static_cast<int64_t>(ab.size())), db = d - (nb - static_cast<int64_t>(bb.size()));
      if (da >= 0) {
        if (ab[da] != 1) ai += idx * astride;
        astride *= ab[da];
      }
      if (db >= 0) {
        if (bb[db] != 1) bi += idx * bstride;
        bstride *= bb[db];
      }
    }
    out->a_index[i] = ai;
    out->b_index[i] = bi;
  }
  return {};
}

// How a B quantization parameter (zero point or scale) applies, per ORT: per tensor (scalar-like),
// per column (1-D of N for a 2-D B), or per column per B matrix (B's shape with dim -2 of 1).
Status BParam(const Shape& p, const Shape& b, const char* what, bool* per_column, bool* per_matrix) {
  *per_column = *per_matrix = false;
  if (IsScalarLike(p)) return {};
  const size_t rb = b.size();
  if (p.size() == 1 && rb == 2 && p[0] == b[1]) {
    *per_column = true;
    return {};
  }
  bool ok = p.size() == rb && rb >= 2 && p[rb - 2] == 1;
  for (size_t i = 0; ok && i < rb; ++i) ok = i == rb - 2 || p[i] == b[i];
  ANVIL_CHECK(ok, "B's ", what, " ", ToString(p), " must be a scalar, 1-D of N or B's shape ", ToString(b),
              " with 1 at dim -2");
  *per_column = *per_matrix = true;
  return {};
}

}  // namespace

Status MatMulIntegerKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const bool q = node.OpType() == "QLinearMatMul";
  const Slots s = q ? kQLinearMatMul : kMatMulInteger;
  const ElemType at = node.InputType(s.a), bt = node.InputType(s.b);
  ANVIL_CHECK(Is8Bit(at) && Is8Bit(bt), node.OpType(), ": only int8 / uint8 inputs");
  if (node.InputPresent(s.a_zp)) ANVIL_CHECK(node.InputType(s.a_zp) == at, "A's zero point must have A's type");
  if (node.InputPresent(s.b_zp)) ANVIL_CHECK(node.InputType(s.b_zp) == bt, "B's zero point must have B's type");
  if (q) {
    const ElemType yt = node.OutputType(0);
    // ORT's CPU EP: uint8 A with uint8 or int8 B into uint8, int8 A and B into int8.
    ANVIL_CHECK((at == kU8 && yt == kU8) || (at == kS8 && bt == kS8 && yt == kS8),
                "QLinearMatMul: the type combination is not one ORT's CPU EP runs");
    ANVIL_CHECK(node.InputType(s.a_scale) == kF32 && node.InputType(s.b_scale) == kF32 &&
                    node.InputType(s.y_scale) == kF32,
                "QLinearMatMul: only float scales");
    if (node.InputPresent(s.y_zp)) ANVIL_CHECK(node.InputType(s.y_zp) == yt, "y's zero point must have y's type");
  } else {
    ANVIL_CHECK(node.OutputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "MatMulInteger: the output must be int32");
  }
  auto a = node.InputShape(s.a), b = node.InputShape(s.b);
  if (a) ANVIL_CHECK(!a->empty(), node.OpType(), ": A must have rank >= 1");
  if (b) ANVIL_CHECK(!b->empty(), node.OpType(), ": B must have rank >= 1");
  if (out) {
    auto k = std::make_unique<MatMulIntegerKernel>();
    k->qlinear_ = q;
    *out = std::move(k);
  }
  return {};
}

Status MatMulIntegerKernel::Compute(ComputeContext& ctx) const {
  const Slots s = qlinear_ ? kQLinearMatMul : kMatMulInteger;
  const TensorView a = ctx.Input(s.a), b = ctx.Input(s.b);
  const TensorView a_zp = ctx.Input(s.a_zp), b_zp = ctx.Input(s.b_zp);
  Batch batch;
  ANVIL_RETURN_IF_ERROR(MatMulShapes(a.shape, b.shape, &batch));
  if (a_zp.data) ANVIL_CHECK(IsScalarLike(a_zp.shape), "A's zero point must be a scalar, got ", ToString(a_zp.shape));
  bool zp_col = false, zp_mat = false;
  if (b_zp.data) ANVIL_RETURN_IF_ERROR(BParam(b_zp.shape, b.shape, "zero point", &zp_col, &zp_mat));
  TensorView a_scale, b_scale, y_scale, y_zp;
  bool sc_col = false, sc_mat = false;
  if (qlinear_) {
    a_scale = ctx.Input(s.a_scale), b_scale = ctx.Input(s.b_scale), y_scale = ctx.Input(s.y_scale);
    y_zp = ctx.Input(s.y_zp);
    ANVIL_CHECK(IsScalarLike(a_scale.shape) && IsScalarLike(y_scale.shape), "a_scale and y_scale must be scalars");
    if (y_zp.data) ANVIL_CHECK(IsScalarLike(y_zp.shape), "y's zero point must be a scalar");
    ANVIL_RETURN_IF_ERROR(BParam(b_scale.shape, b.shape, "scale", &sc_col, &sc_mat));
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, batch.y, &y));
  const int64_t count = static_cast<int64_t>(batch.a_index.size());
  const int64_t M = batch.M, N = batch.N, K = batch.K;
  if (count * M * N == 0) return {};

  std::vector<int64_t> a_off(static_cast<size_t>(count)), b_off(static_cast<size_t>(count)),
      p_off(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    a_off[i] = batch.a_index[i] * M * K;
    b_off[i] = batch.b_index[i] * K * N;
    p_off[i] = zp_mat ? batch.b_index[i] * N : 0;
  }
  const bool b_signed = b.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
  std::vector<int32_t> bz(static_cast<size_t>(b_zp.data ? std::max<int64_t>(b_zp.size(), 1) : 1), 0);
  if (b_zp.data) {
    for (int64_t i = 0; i < b_zp.size(); ++i)
      bz[i] = b_signed ? int32_t{b_zp.as<int8_t>()[i]} : int32_t{b_zp.as<uint8_t>()[i]};
  }
  quant::IntMatMul g;
  g.batch = count, g.M = M, g.N = N, g.K = K;
  g.a_offset = a_off.data(), g.b_offset = b_off.data(), g.b_param_offset = p_off.data();
  g.a_signed = a.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
  g.b_signed = b_signed;
  g.b_per_column = zp_col;
  int32_t* acc = qlinear_ ? ctx.Scratch<int32_t>(static_cast<size_t>(count * M * N)) : static_cast<int32_t*>(y);
  quant::MatMulInteger(g, a.data, ScalarZeroPoint(a_zp), b.data, bz.data(), acc);
  if (!qlinear_) return {};

  // Output scales as ORT computes them: a_scale * b_scale[j] / y_scale.
  const float as = a_scale.as<float>()[0], ys = y_scale.as<float>()[0];
  std::vector<float> scales(static_cast<size_t>(std::max<int64_t>(b_scale.size(), 1)));
  for (int64_t j = 0; j < b_scale.size(); ++j) scales[j] = as * b_scale.as<float>()[j] / ys;
  const bool y_signed = ctx.Input(s.a).type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
  const int32_t yz = ScalarZeroPoint(y_zp);
  for (int64_t i = 0; i < count; ++i) {
    const float* sc = scales.data() + (sc_mat ? batch.b_index[i] * N : 0);
    char* yb = static_cast<char*>(y) + i * M * N;
    quant::Requantize(acc + i * M * N, M * N, sc_col ? N : 1, 1, nullptr, sc, yz, y_signed, yb);
  }
  return {};
}

}  // namespace anvil
