#include "kernels/recurrent/recurrent.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <string>

namespace anvil {
namespace {

using rnn::Act;
using rnn::Cell;

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;

// Inputs.
constexpr size_t kX = 0, kW = 1, kR = 2, kB = 3, kLens = 4, kH0 = 5, kC0 = 6, kP = 7;

const char* OpName(Cell c) { return c == Cell::kRnn ? "RNN" : (c == Cell::kGru ? "GRU" : "LSTM"); }

// The activations ONNX names, with the alpha/beta each consumes and ORT's defaults for them
// (ORT's CPU EP defaults every other alpha and beta to 0, not to ONNX's documented values).
struct ActInfo {
  const char* name;
  Act kind;
  bool alpha, beta;
  float default_alpha, default_beta;
};
constexpr ActInfo kActs[] = {
    {"Relu", Act::kRelu, false, false, 0.f, 0.f},
    {"Tanh", Act::kTanh, false, false, 0.f, 0.f},
    {"Sigmoid", Act::kSigmoid, false, false, 0.f, 0.f},
    {"Affine", Act::kAffine, true, true, 0.f, 0.f},
    {"LeakyRelu", Act::kLeakyRelu, true, false, 0.01f, 0.f},
    {"ThresholdedRelu", Act::kThresholdedRelu, true, false, 0.f, 0.f},
    {"ScaledTanh", Act::kScaledTanh, true, true, 0.f, 0.f},
    {"HardSigmoid", Act::kHardSigmoid, true, true, 0.2f, 0.5f},
    {"Elu", Act::kElu, true, false, 1.f, 0.f},
    {"Softsign", Act::kSoftsign, false, false, 0.f, 0.f},
    {"Softplus", Act::kSoftplus, false, false, 0.f, 0.f},
};

bool SameIgnoringCase(const std::string& a, const char* b) {
  const size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

const ActInfo* FindAct(const std::string& name, bool ignore_case) {
  for (const ActInfo& a : kActs)
    if (ignore_case ? SameIgnoringCase(name, a.name) : name == a.name) return &a;
  return nullptr;
}

// Activations as ORT's CPU EP reads them. GRU and LSTM: names in any case, exactly 2 or 3 per
// direction. RNN: exact names, one per direction (two for one direction is ONNX's default list,
// of which the first counts). Alpha and beta values are consumed in order by the activations
// that take them (defaults when the lists run out).
Status ParseActivations(Cell cell, const NodeInfo& node, int dirs, rnn::Problem& p) {
  const char* op = OpName(cell);
  const std::vector<float> alphas = node.Floats("activation_alpha").value_or(std::vector<float>{});
  const std::vector<float> betas = node.Floats("activation_beta").value_or(std::vector<float>{});
  std::vector<std::string> names = node.Strings("activations").value_or(std::vector<std::string>{});
  if (cell == Cell::kRnn) {
    if (names.empty()) names.assign(dirs, "Tanh");
    if (names.size() == 2 && dirs == 1) names.resize(1);
    ANVIL_CHECK(names.size() == static_cast<size_t>(dirs), op, ": activations must list ", dirs, " function(s), got ",
                names.size());
    for (const std::string& n : names) ANVIL_CHECK(FindAct(n, false) != nullptr, op, ": unsupported activation '", n, "'");
  }
  const size_t per_dir = cell == Cell::kRnn ? 1 : (cell == Cell::kGru ? 2 : 3);
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) {
      names.push_back("Sigmoid");
      names.push_back("Tanh");
      if (cell == Cell::kLstm) names.push_back("Tanh");
    }
  }
  ANVIL_CHECK(names.size() == per_dir * dirs, op, ": activations must list ", per_dir * dirs, " functions, got ",
              names.size());
  size_t ai = 0, bi = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const ActInfo* a = FindAct(names[i], true);
    ANVIL_CHECK(a != nullptr, op, ": unsupported activation '", names[i], "'");
    rnn::Activation act{a->kind, 0.f, 0.f};
    if (a->alpha) act.alpha = ai < alphas.size() ? alphas[ai++] : a->default_alpha;
    if (a->beta) act.beta = bi < betas.size() ? betas[bi++] : a->default_beta;
    p.act[i / per_dir][i % per_dir] = act;
  }
  return {};
}

bool Known(int64_t d) { return d >= 0; }

// Checks a known shape against the expected one (-1: any).
Status CheckShape(const char* op, const char* what, const std::optional<Shape>& shape, std::initializer_list<int64_t> want) {
  if (!shape) return {};
  ANVIL_CHECK(shape->size() == want.size(), op, ": ", what, " must have rank ", want.size(), ", got ", ToString(*shape));
  size_t i = 0;
  for (int64_t w : want) {
    const int64_t d = (*shape)[i++];
    ANVIL_CHECK(!Known(d) || w < 0 || d == w, op, ": ", what, " has shape ", ToString(*shape), ", dim ", i - 1,
                " should be ", w);
  }
  return {};
}

std::optional<Shape> ShapeOf(const NodeInfo& node, size_t i) {
  if (std::optional<TensorView> c = node.ConstantInput(i)) return c->shape;
  return node.InputShape(i);
}

bool FullyKnown(const std::optional<Shape>& s) {
  if (!s) return false;
  for (int64_t d : *s)
    if (d < 0) return false;
  return true;
}

// a * b * ..., false on overflow past 2^62.
bool CheckedProduct(std::initializer_list<int64_t> dims, int64_t& out) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d < 0 || __builtin_mul_overflow(p, d, &p) || p > (int64_t{1} << 62)) return false;
  }
  out = p;
  return true;
}

}  // namespace

Status RecurrentKernel::CreateFor(Cell cell, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const char* op = OpName(cell);
  const ElemType t = node.InputType(kX);
  ANVIL_CHECK(t == kF32 || (t == kF64 && cell != Cell::kRnn), op, ": unsupported element type ", ElemTypeName(t));
  for (size_t i : {kW, kR, kB, kH0, kC0, kP}) {
    if (i == kC0 && cell != Cell::kLstm) break;
    if (node.InputPresent(i)) ANVIL_CHECK(node.InputType(i) == t, op, ": input ", i, " must have X's type");
  }
  if (node.InputPresent(kLens)) ANVIL_CHECK(node.InputType(kLens) == kI32, op, ": sequence_lens must be int32");
  ANVIL_CHECK(cell == Cell::kLstm || node.InputCount() <= 6, op, ": too many inputs");

  rnn::Problem p;
  p.cell = cell;
  const std::optional<int64_t> hidden = node.Int("hidden_size");
  ANVIL_CHECK(hidden && *hidden > 0 && *hidden <= (int64_t{1} << 24), op, ": hidden_size must be given and positive");
  p.hidden = *hidden;
  const std::string direction = node.String("direction", "forward");
  ANVIL_CHECK(direction == "forward" || direction == "reverse" || direction == "bidirectional", op,
              ": direction must be forward, reverse or bidirectional, got '", direction, "'");
  p.directions = direction == "bidirectional" ? 2 : 1;
  p.reverse = direction == "reverse";
  const int64_t layout = node.SinceVersion() >= 14 ? node.Int("layout", 0) : 0;
  ANVIL_CHECK(layout == 0 || layout == 1, op, ": layout must be 0 or 1, got ", layout);
  p.batch_major = layout == 1;
  if (std::optional<float> clip = node.Float("clip")) {
    if (cell == Cell::kRnn) {
      p.clip = *clip >= 0.f;  // ORT: a negative clip means none
    } else {
      ANVIL_CHECK(*clip > 0.f, op, ": clip must be positive, got ", *clip);
      p.clip = true;
    }
    p.clip_value = *clip;
  }
  ANVIL_RETURN_IF_ERROR(ParseActivations(cell, node, p.directions, p));
  if (cell == Cell::kLstm) p.input_forget = node.Int("input_forget", 0) != 0;
  if (cell == Cell::kGru) p.linear_before_reset = node.Int("linear_before_reset", 0) != 0;

  // Known shapes must agree with hidden_size and each other.
  const int64_t dirs = p.directions, H = p.hidden, GH = rnn::GateCount(cell) * H;
  const std::optional<Shape> x = node.InputShape(kX);
  ANVIL_RETURN_IF_ERROR(CheckShape(op, "X", x, {-1, -1, -1}));
  const int64_t input = x ? (*x)[2] : -1;
  const int64_t batch = x ? (*x)[p.batch_major ? 0 : 1] : -1;
  const std::optional<Shape> w = ShapeOf(node, kW), r = ShapeOf(node, kR);
  ANVIL_RETURN_IF_ERROR(CheckShape(op, "W", w, {dirs, GH, input}));
  ANVIL_RETURN_IF_ERROR(CheckShape(op, "R", r, {dirs, GH, H}));
  if (node.InputPresent(kB)) ANVIL_RETURN_IF_ERROR(CheckShape(op, "B", ShapeOf(node, kB), {dirs, 2 * GH}));
  if (node.InputPresent(kLens)) ANVIL_RETURN_IF_ERROR(CheckShape(op, "sequence_lens", node.InputShape(kLens), {batch}));
  for (size_t i : {kH0, kC0}) {
    if (i == kC0 && cell != Cell::kLstm) break;
    if (!node.InputPresent(i)) continue;
    const std::optional<Shape> s = node.InputShape(i);
    ANVIL_RETURN_IF_ERROR(p.batch_major ? CheckShape(op, "initial state", s, {batch, dirs, H})
                                        : CheckShape(op, "initial state", s, {dirs, batch, H}));
  }
  if (cell == Cell::kLstm && node.InputPresent(kP))
    ANVIL_RETURN_IF_ERROR(CheckShape(op, "P", ShapeOf(node, kP), {dirs, 3 * H}));

  auto present = [&](size_t i) {
    return node.OutputCount() > i && node.OutputType(i) != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  };
  for (size_t i = 0; i < node.OutputCount(); ++i)
    if (present(i)) ANVIL_CHECK(node.OutputType(i) == t, op, ": output ", i, " must have X's type");
  ANVIL_CHECK(node.OutputCount() <= (cell == Cell::kLstm ? 3u : 2u), op, ": too many outputs");
  if (out) {
    auto k = std::unique_ptr<RecurrentKernel>(new RecurrentKernel());
    k->attrs_ = p;
    k->type_ = t;
    k->y_ = present(0);
    k->y_h_ = present(1);
    k->y_c_ = cell == Cell::kLstm && present(2);
    k->w_shape_ = w;
    k->r_shape_ = r;
    *out = std::move(k);
  }
  return {};
}

int64_t RecurrentKernel::PackedElems(int input_index, int64_t input_size) const {
  const int64_t H = attrs_.hidden, GH = rnn::GateCount(attrs_.cell) * H;
  int64_t per_dir = 0;
  if (input_index == static_cast<int>(kW)) {
    per_dir = rnn::PanelElems(GH, input_size);
  } else if (attrs_.cell == Cell::kGru) {
    per_dir = rnn::PanelElems(2 * H, H) + rnn::PanelElems(H, H);
  } else {
    per_dir = rnn::PanelElems(GH, H);
  }
  return per_dir * attrs_.directions;
}

template <typename T>
void RecurrentKernel::Pack(int input_index, const T* weight, int64_t input_size, T* panels) const {
  const int64_t H = attrs_.hidden, GH = rnn::GateCount(attrs_.cell) * H;
  const int64_t k = input_index == static_cast<int>(kW) ? input_size : H;
  for (int d = 0; d < attrs_.directions; ++d) {
    const T* src = weight + d * GH * k;
    if (input_index == static_cast<int>(kR) && attrs_.cell == Cell::kGru) {
      rnn::PackPanels<T>(src, 2 * H, H, panels);
      panels += rnn::PanelElems(2 * H, H);
      rnn::PackPanels<T>(src + 2 * H * H, H, H, panels);
      panels += rnn::PanelElems(H, H);
    } else {
      rnn::PackPanels<T>(src, GH, k, panels);
      panels += rnn::PanelElems(GH, k);
    }
  }
}

Status RecurrentKernel::PrePack(const TensorView& weight, int input_index, PackSink& sink, bool& packed) {
  packed = false;
  if (input_index != static_cast<int>(kW) && input_index != static_cast<int>(kR)) return {};
  const std::optional<Shape>& expected = input_index == static_cast<int>(kW) ? w_shape_ : r_shape_;
  if (weight.type != type_ || !FullyKnown(expected) || weight.shape != *expected || weight.size() == 0) return {};
  const int64_t H = attrs_.hidden, GH = rnn::GateCount(attrs_.cell) * H;
  if (weight.shape.size() != 3 || weight.shape[0] != attrs_.directions || weight.shape[1] != GH) return {};
  if (input_index == static_cast<int>(kR) && weight.shape[2] != H) return {};
  const int64_t input_size = weight.shape[2];
  const size_t bytes = static_cast<size_t>(PackedElems(input_index, input_size)) * ElemSize(type_);
  void* dst = sink.Allocate(bytes);
  std::memset(dst, 0, bytes);
  if (type_ == kF32) {
    Pack<float>(input_index, weight.as<float>(), input_size, static_cast<float*>(dst));
  } else {
    Pack<double>(input_index, weight.as<double>(), input_size, static_cast<double*>(dst));
  }
  packed = true;
  return {};
}

Status RecurrentKernel::UsePacked(int input_index, const std::vector<const void*>& buffers,
                                  const std::vector<size_t>& sizes) {
  ANVIL_CHECK(input_index == static_cast<int>(kW) || input_index == static_cast<int>(kR), "no packed input ",
              input_index);
  const std::optional<Shape>& shape = input_index == static_cast<int>(kW) ? w_shape_ : r_shape_;
  ANVIL_CHECK(FullyKnown(shape) && shape->size() == 3, "the packed weight's shape is not known");
  const size_t bytes = static_cast<size_t>(PackedElems(input_index, (*shape)[2])) * ElemSize(type_);
  ANVIL_CHECK(buffers.size() == 1 && sizes.size() == 1 && sizes[0] == bytes, "packed weight ", input_index,
              " has an unexpected size");
  (input_index == static_cast<int>(kW) ? packed_w_ : packed_r_) = buffers[0];
  return {};
}

Status RecurrentKernel::Compute(ComputeContext& ctx) const {
  return type_ == kF64 ? Run<double>(ctx) : Run<float>(ctx);
}

template <typename T>
Status RecurrentKernel::Run(ComputeContext& ctx) const {
  const rnn::Cell cell = attrs_.cell;
  const char* op = OpName(cell);
  rnn::Problem p = attrs_;
  const int64_t dirs = p.directions, H = p.hidden, G = rnn::GateCount(cell), GH = G * H;

  TensorView x = ctx.Input(kX);
  ANVIL_CHECK(x.shape.size() == 3, op, ": X must have rank 3, got ", ToString(x.shape));
  p.seq = x.shape[p.batch_major ? 1 : 0];
  p.batch = x.shape[p.batch_major ? 0 : 1];
  p.input = x.shape[2];
  const int64_t S = p.seq, B = p.batch, I = p.input;

  auto check = [&](const char* what, const Shape& s, std::initializer_list<int64_t> want) -> Status {
    bool ok = s.size() == want.size();
    size_t i = 0;
    for (int64_t w : want) ok = ok && s[i++] == w;
    if (!ok) {
      std::string w = "[";
      for (int64_t v : want) w += (w.size() > 1 ? "," : "") + std::to_string(v);
      return Fail(op, ": ", what, " must have shape ", w, "], got ", ToString(s));
    }
    return {};
  };
  TensorView w, r;
  if (!packed_w_) {
    w = ctx.Input(kW);
    ANVIL_RETURN_IF_ERROR(check("W", w.shape, {dirs, GH, I}));
  } else {
    ANVIL_RETURN_IF_ERROR(check("W", *w_shape_, {dirs, GH, I}));
  }
  if (!packed_r_) {
    r = ctx.Input(kR);
    ANVIL_RETURN_IF_ERROR(check("R", r.shape, {dirs, GH, H}));
  }
  TensorView bias, lens, h0, c0, peep;
  if (ctx.HasInput(kB)) {
    bias = ctx.Input(kB);
    ANVIL_RETURN_IF_ERROR(check("B", bias.shape, {dirs, 2 * GH}));
  }
  if (ctx.HasInput(kLens)) {
    lens = ctx.Input(kLens);
    ANVIL_RETURN_IF_ERROR(check("sequence_lens", lens.shape, {B}));
    const int32_t* l = lens.as<int32_t>();
    for (int64_t b = 0; b < B; ++b)
      ANVIL_CHECK(l[b] >= 0 && l[b] <= S, op, ": invalid value ", l[b], " in sequence_lens: all values must be in [0, ",
                  S, "]");
  }
  const Shape state = p.batch_major ? Shape{B, dirs, H} : Shape{dirs, B, H};
  auto check_state = [&](const char* what, const TensorView& v) -> Status {
    if (v.shape != state) return Fail(op, ": ", what, " must have shape ", ToString(state), ", got ", ToString(v.shape));
    return {};
  };
  if (ctx.HasInput(kH0)) {
    h0 = ctx.Input(kH0);
    ANVIL_RETURN_IF_ERROR(check_state("initial_h", h0));
  }
  if (cell == Cell::kLstm && ctx.HasInput(kC0)) {
    c0 = ctx.Input(kC0);
    ANVIL_RETURN_IF_ERROR(check_state("initial_c", c0));
  }
  if (cell == Cell::kLstm && ctx.HasInput(kP)) {
    peep = ctx.Input(kP);
    ANVIL_RETURN_IF_ERROR(check("P", peep.shape, {dirs, 3 * H}));
  }

  int64_t xw_elems = 0, y_elems = 0, w_elems = 0;
  ANVIL_CHECK(CheckedProduct({S, B, GH, 8}, xw_elems) && CheckedProduct({S, B, dirs, H, 8}, y_elems) &&
                  CheckedProduct({GH, I + 16, dirs, 8}, w_elems),
              op, ": sizes too large");

  rnn::Io<T> io;
  io.x = x.as<T>();
  io.lengths = lens.data ? lens.as<int32_t>() : nullptr;
  io.initial_h = h0.data ? h0.as<T>() : nullptr;
  io.initial_c = c0.data ? c0.as<T>() : nullptr;
  const Shape y_shape = p.batch_major ? Shape{B, S, dirs, H} : Shape{S, dirs, B, H};
  if (y_) ANVIL_RETURN_IF_ERROR(ctx.Output(0, y_shape, &io.y));
  if (y_h_) ANVIL_RETURN_IF_ERROR(ctx.Output(1, state, &io.y_h));
  if (y_c_) ANVIL_RETURN_IF_ERROR(ctx.Output(2, state, &io.y_c));
  if (B == 0) return {};

  // One scratch buffer: the cell's workspace, then panels of W and R unless pre-packed.
  const int64_t ws_elems = rnn::WorkspaceElems(p);
  const int64_t pw = packed_w_ ? 0 : PackedElems(kW, I), pr = packed_r_ ? 0 : PackedElems(kR, I);
  T* ws = ctx.Scratch<T>(static_cast<size_t>(ws_elems + pw + pr));
  const T* wp = static_cast<const T*>(packed_w_);
  const T* rp = static_cast<const T*>(packed_r_);
  if (!packed_w_) {
    T* dst = ws + ws_elems;
    Pack<T>(kW, w.as<T>(), I, dst);
    wp = dst;
  }
  if (!packed_r_) {
    T* dst = ws + ws_elems + pw;
    Pack<T>(kR, r.as<T>(), I, dst);
    rp = dst;
  }
  rnn::DirectionWeights<T> dw[2];
  for (int d = 0; d < p.directions; ++d) {
    dw[d].w = wp + d * rnn::PanelElems(GH, I);
    if (cell == Cell::kGru) {
      const int64_t per_dir = rnn::PanelElems(2 * H, H) + rnn::PanelElems(H, H);
      dw[d].r = rp + d * per_dir;
      dw[d].rh = dw[d].r + rnn::PanelElems(2 * H, H);
    } else {
      dw[d].r = rp + d * rnn::PanelElems(GH, H);
    }
    dw[d].bias = bias.data ? bias.as<T>() + d * 2 * GH : nullptr;
    dw[d].peephole = peep.data ? peep.as<T>() + d * 3 * H : nullptr;
  }
  rnn::Run<T>(p, dw, io, ws);
  return {};
}

}  // namespace anvil
