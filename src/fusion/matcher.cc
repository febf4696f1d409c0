#include "fusion/matcher.h"

#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "ep/node_info_ort.h"

namespace anvil::fusion {
namespace {

const OrtApi& Api() { return Ort::GetApi(); }

bool Ok(OrtStatus* st) {
  if (st == nullptr) return true;
  Api().ReleaseStatus(st);
  return false;
}

std::vector<const OrtValueInfo*> Inputs(const OrtNode* node) {
  size_t n = 0;
  if (!Ok(Api().Node_GetNumInputs(node, &n))) return {};
  std::vector<const OrtValueInfo*> v(n);
  if (n && !Ok(Api().Node_GetInputs(node, v.data(), n))) return {};
  return v;
}

std::vector<const OrtValueInfo*> Outputs(const OrtNode* node) {
  size_t n = 0;
  if (!Ok(Api().Node_GetNumOutputs(node, &n))) return {};
  std::vector<const OrtValueInfo*> v(n);
  if (n && !Ok(Api().Node_GetOutputs(node, v.data(), n))) return {};
  return v;
}

std::string OpType(const OrtNode* node) {
  const char* s = nullptr;
  return Ok(Api().Node_GetOperatorType(node, &s)) && s ? s : "";
}

std::string Domain(const OrtNode* node) {
  const char* s = nullptr;
  return Ok(Api().Node_GetDomain(node, &s)) && s ? s : "";
}

int Since(const OrtNode* node) {
  int v = 0;
  return Ok(Api().Node_GetSinceVersion(node, &v)) ? v : 0;
}

// Consumer nodes of a value (a node using it twice appears twice; implicit uses by a subgraph
// node count), or nullopt when ORT cannot say.
std::optional<std::vector<const OrtNode*>> Consumers(const OrtValueInfo* value) {
  size_t n = 0;
  if (!Ok(Api().ValueInfo_GetValueNumConsumers(value, &n))) return std::nullopt;
  std::vector<const OrtNode*> nodes(n);
  std::vector<int64_t> indices(n);
  if (n && !Ok(Api().ValueInfo_GetValueConsumers(value, nodes.data(), indices.data(), n))) return std::nullopt;
  return nodes;
}

bool IsGraphOutput(const OrtValueInfo* value) {
  bool out = true;
  return !Ok(Api().ValueInfo_IsGraphOutput(value, &out)) || out;
}

// Type and shape with symbolic dim names ("" where a dim has none).
struct ValueType {
  ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  bool has_shape = false;
  std::vector<int64_t> dims;
  std::vector<std::string> symbols;
};

ValueType TypeOf(const OrtValueInfo* value) {
  ValueType out;
  const OrtTypeInfo* ti = nullptr;
  if (!Ok(Api().GetValueInfoTypeInfo(value, &ti)) || ti == nullptr) return out;
  const OrtTensorTypeAndShapeInfo* tensor = nullptr;
  if (!Ok(Api().CastTypeInfoToTensorInfo(ti, &tensor)) || tensor == nullptr) return out;
  Ok(Api().GetTensorElementType(tensor, &out.type));
  if (!Api().TensorTypeAndShape_HasShape(tensor)) return out;
  size_t rank = 0;
  if (!Ok(Api().GetDimensionsCount(tensor, &rank))) return out;
  out.dims.resize(rank);
  std::vector<const char*> names(rank, nullptr);
  if (rank && (!Ok(Api().GetDimensions(tensor, out.dims.data(), rank)) ||
               !Ok(Api().GetSymbolicDimensions(tensor, names.data(), rank))))
    return out;
  for (const char* s : names) out.symbols.emplace_back(s ? s : "");
  out.has_shape = true;
  return out;
}

// Whether tensor operand t broadcasts into x without widening it, as far as the graph says:
// rank at most x's, and per (right-aligned) dim: t's is 1, or equal to x's (the same known
// size or the same symbolic name), or both unknown. (Both unknown is a bet that the graph does
// not widen there; if it does at run time the group fails cleanly: CheckPostOpOperands.)
// `strict`: no bet, a dim unknown on both sides must have the same symbolic name.
bool FitsInto(const ValueType& t, const ValueType& x, bool strict) {
  if (!t.has_shape || !x.has_shape || t.dims.size() > x.dims.size()) return false;
  const size_t lead = x.dims.size() - t.dims.size();
  for (size_t i = 0; i < t.dims.size(); ++i) {
    const int64_t td = t.dims[i], xd = x.dims[i + lead];
    const std::string& ts = t.symbols[i];
    const std::string& xs = x.symbols[i + lead];
    if (td == 1) continue;
    if (td >= 0 && td == xd) continue;
    if (td < 0 && xd < 0 && (strict ? !ts.empty() && ts == xs : ts.empty() || xs.empty() || ts == xs)) continue;
    return false;
  }
  return true;
}

// The value of a constant float scalar (one element, any rank).
std::optional<float> ScalarConstant(const OrtValueInfo* value) {
  if (value == nullptr) return std::nullopt;
  bool constant = false;
  if (!Ok(Api().ValueInfo_IsConstantInitializer(value, &constant)) || !constant) return std::nullopt;
  const OrtValue* v = nullptr;
  if (!Ok(Api().ValueInfo_GetInitializerValue(value, &v)) || v == nullptr) return std::nullopt;
  TensorView t = ViewOf(v);
  if (t.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t.size() != 1 || t.data == nullptr) return std::nullopt;
  return *t.as<float>();
}

// ---- the pattern list's vocabulary ----

enum class ArgKind : uint8_t { kNone, kX, kY, kK, kC, kT };
struct Arg {
  ArgKind kind = ArgKind::kNone;
  float value = 0.f;  // kK
};
constexpr Arg X{ArgKind::kX};
constexpr Arg Y{ArgKind::kY};
constexpr Arg C{ArgKind::kC};
constexpr Arg T{ArgKind::kT};
constexpr Arg K(float v) { return Arg{ArgKind::kK, v}; }

struct Step {
  const char* op;
  std::vector<Arg> args;
};
Step S(const char* op, Arg a) { return Step{op, {a}}; }
Step S(const char* op, Arg a, Arg b) { return Step{op, {a, b}}; }
Step S(const char* op, Arg a, Arg b, Arg c) { return Step{op, {a, b, c}}; }

// What the emitter sees of a match.
struct Match {
  std::vector<const OrtNode*> nodes;  // per step
  std::vector<float> c;               // captured constants (C), in order
  bool has_tensor = false;
  const OrtValueInfo* tensor = nullptr;
  float Attr(size_t step, const char* name, float dflt) const {
    return GraphNodeInfo(nodes[step]).Float(name).value_or(dflt);
  }
};

struct Emitted {
  bool binary = false;
  PostOp op;
};
Emitted Unary(PostOp::Kind kind, float alpha, float beta) {
  Emitted e;
  e.op.kind = kind;
  e.op.alpha = alpha;
  e.op.beta = beta;
  return e;
}
// Max or Min with a constant as a Clip to [lo, hi]; with a NaN constant every output is NaN (as
// Anvil's Max and Min give, numpy's way), a linear step to NaN.
Emitted Bound(float lo, float hi) {
  if (lo != lo || hi != hi) return Unary(PostOp::Kind::kLinear, 0.f, std::numeric_limits<float>::quiet_NaN());
  return Unary(PostOp::Kind::kClip, lo, hi);
}
Emitted Binary(PostOp::Kind kind) {
  Emitted e;
  e.binary = true;
  e.op.kind = kind;
  return e;
}

using EmitFn = Emitted (*)(const Match& m);
struct Pattern {
  const char* name;
  std::vector<Step> steps;
  EmitFn emit;
};

const std::vector<Pattern>& Patterns() {
#define ANVIL_PATTERN(name, emitted, ...) \
  Pattern{name, {__VA_ARGS__}, [](const Match& m) -> Emitted { (void)m; return emitted; }},
  using enum PostOp::Kind;
  static const std::vector<Pattern> patterns = {
#include "fusion/patterns.inc"
  };
  return patterns;
}

bool IsAnchor(const std::string& op) {
  static const std::set<std::string> anchors = {
#define ANVIL_ANCHOR(op) op,
#include "fusion/patterns.inc"
  };
  return anchors.count(op) > 0;
}

bool IsElementwiseHead(const std::string& op) {
  static const std::set<std::string> heads = {
#define ANVIL_HEAD(op) op,
#include "fusion/patterns.inc"
  };
  return heads.count(op) > 0;
}

bool Near(float a, float b) { return std::fabs(a - b) <= 1e-6f * std::max(1.f, std::fabs(b)); }

// A constant input of a step node: the input's scalar, Clip's bounds (attributes before
// opset 11, a missing input = no bound).
std::optional<float> StepConstant(const OrtNode* node, const std::vector<const OrtValueInfo*>& in, size_t j) {
  const bool clip = OpType(node) == "Clip";
  if (clip && Since(node) < 11) {
    GraphNodeInfo info(node);
    if (j == 1) return info.Float("min").value_or(std::numeric_limits<float>::lowest());
    if (j == 2) return info.Float("max").value_or(std::numeric_limits<float>::max());
  }
  if (j >= in.size() || in[j] == nullptr) {
    if (clip && j == 1) return -std::numeric_limits<float>::infinity();
    if (clip && j == 2) return std::numeric_limits<float>::infinity();
    return std::nullopt;
  }
  return ScalarConstant(in[j]);
}

class Matcher {
 public:
  // `strict`: tensor operands must be shown to fit (FitsInto), no bet on unknown dims.
  Matcher(const std::function<bool(const OrtNode*)>& claimable, const std::set<const OrtNode*>& taken, bool strict)
      : claimable_(claimable), taken_(taken), strict_(strict) {}

  // Tries `p` at value x (of type xt); on success fills the match, the nodes and the output.
  bool Try(const Pattern& p, const OrtValueInfo* x, const ValueType& xt, Match* m, const OrtValueInfo** out) {
    *m = Match{};
    x_type_ = &xt;
    const OrtValueInfo* y = nullptr;
    std::set<const OrtNode*> inside;
    for (size_t s = 0; s < p.steps.size(); ++s) {
      const Step& step = p.steps[s];
      // The step's node consumes Y (or X for the first step).
      const OrtValueInfo* from = s == 0 ? x : y;
      std::optional<std::vector<const OrtNode*>> cons = Consumers(from);
      if (!cons) return false;
      const OrtNode* found = nullptr;
      for (const OrtNode* c : *cons) {
        if (inside.count(c) || taken_.count(c) || OpType(c) != step.op || !Domain(c).empty()) continue;
        Match trial = *m;
        if (!BindArgs(c, step, x, y, &trial)) continue;
        found = c;
        *m = trial;
        break;
      }
      if (found == nullptr || !claimable_(found)) return false;
      std::vector<const OrtValueInfo*> outs = Outputs(found);
      if (outs.size() != 1 || outs[0] == nullptr) return false;
      // Element-wise on x with scalars or fitting tensors: the step's output has x's shape.
      if (TypeOf(outs[0]).type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) return false;
      inside.insert(found);
      m->nodes.push_back(found);
      y = outs[0];
    }
    // Inner values (x and every step output but the last) are used only inside the pattern.
    std::vector<const OrtValueInfo*> inner = {x};
    for (size_t s = 0; s + 1 < m->nodes.size(); ++s) inner.push_back(Outputs(m->nodes[s])[0]);
    for (const OrtValueInfo* v : inner) {
      if (IsGraphOutput(v)) return false;
      std::optional<std::vector<const OrtNode*>> cons = Consumers(v);
      if (!cons) return false;
      for (const OrtNode* c : *cons)
        if (!inside.count(c)) return false;
    }
    *out = y;
    return true;
  }

 private:
  // Matches a node's inputs against a step's arguments (both orders for commutative ops).
  bool BindArgs(const OrtNode* node, const Step& step, const OrtValueInfo* x, const OrtValueInfo* y, Match* m) {
    std::vector<const OrtValueInfo*> in = Inputs(node);
    const std::string op = step.op;
    const bool commutative = op == "Add" || op == "Mul" || op == "Max" || op == "Min";
    if (step.args.size() == 1 && in.size() != 1) return false;
    if (op == "Clip") {
      if (in.size() > 3) return false;
    } else if (in.size() != step.args.size()) {
      return false;
    }
    if (BindInOrder(node, step, in, x, y, m, false)) return true;
    return commutative && in.size() == 2 && BindInOrder(node, step, in, x, y, m, true);
  }

  bool BindInOrder(const OrtNode* node, const Step& step, const std::vector<const OrtValueInfo*>& in,
                   const OrtValueInfo* x, const OrtValueInfo* y, Match* m, bool swapped) {
    Match trial = *m;
    for (size_t j = 0; j < step.args.size(); ++j) {
      const size_t k = swapped ? 1 - j : j;
      const OrtValueInfo* v = k < in.size() ? in[k] : nullptr;
      const Arg& a = step.args[j];
      switch (a.kind) {
        case ArgKind::kNone: return false;
        case ArgKind::kX:
          if (v != x) return false;
          break;
        case ArgKind::kY:
          if (y == nullptr || v != y) return false;
          break;
        case ArgKind::kK: {
          if (v != nullptr && TypeOf(v).dims.size() > x_type_->dims.size()) return false;  // would add dims
          std::optional<float> c = StepConstant(node, in, k);
          if (!c || !Near(*c, a.value)) return false;
          break;
        }
        case ArgKind::kC: {
          if (v != nullptr && TypeOf(v).dims.size() > x_type_->dims.size()) return false;
          std::optional<float> c = StepConstant(node, in, k);
          if (!c) return false;
          trial.c.push_back(*c);
          break;
        }
        case ArgKind::kT: {
          if (v == nullptr || v == x || v == y || trial.has_tensor) return false;
          const ValueType vt = TypeOf(v);
          if (vt.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || !FitsInto(vt, *x_type_, strict_)) return false;
          trial.has_tensor = true;
          trial.tensor = v;
          break;
        }
      }
    }
    *m = trial;
    return true;
  }

  const std::function<bool(const OrtNode*)>& claimable_;
  const std::set<const OrtNode*>& taken_;
  const bool strict_;
  const ValueType* x_type_ = nullptr;  // the anchor output's type and shape
};


// ---- functions: several nodes computing one ONNX op (patterns.inc, ANVIL_FUNCTION) ----

// What a function matcher found: the nodes (the first one first), the op's attributes and inputs,
// and the value that is the op's output.
struct FunctionMatch {
  std::vector<const OrtNode*> nodes;
  FunctionNodeInfo::Attrs attrs;
  std::vector<const OrtValueInfo*> inputs;
  const OrtValueInfo* output = nullptr;
};

// The nodes a function may take: Anvil runs each on its own, none is in another group, and every
// value a node makes except the function's output is used only by the function's nodes.
class FunctionScope {
 public:
  FunctionScope(const std::function<bool(const OrtNode*)>& claimable, const std::set<const OrtNode*>& taken)
      : claimable_(claimable), taken_(taken) {}

  // The one consumer of `v` (a value inside the function), if it is an `op` node Anvil may take.
  const OrtNode* Next(const OrtValueInfo* v, const char* op) const {
    if (v == nullptr || IsGraphOutput(v)) return nullptr;
    std::optional<std::vector<const OrtNode*>> cons = Consumers(v);
    if (!cons || cons->size() != 1) return nullptr;
    return Takes((*cons)[0], op) ? (*cons)[0] : nullptr;
  }
  bool Takes(const OrtNode* n, const char* op) const {
    return n && OpType(n) == op && Domain(n).empty() && !taken_.count(n) && claimable_(n);
  }

 private:
  const std::function<bool(const OrtNode*)>& claimable_;
  const std::set<const OrtNode*>& taken_;
};

const OrtValueInfo* Out0(const OrtNode* n) {
  std::vector<const OrtValueInfo*> o = Outputs(n);
  return o.size() == 1 ? o[0] : nullptr;
}

// A ReduceMean's axes (the attribute before opset 18, the constant input since), if it keeps dims.
std::optional<std::vector<int64_t>> MeanAxes(const OrtNode* n) {
  GraphNodeInfo info(n);
  if (info.Int("keepdims", 1) != 1) return std::nullopt;
  if (Since(n) < 18) return info.Ints("axes");
  std::optional<TensorView> a = info.InputPresent(1) ? info.ConstantInput(1) : std::nullopt;
  if (!a || a->type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 || a->data == nullptr) return std::nullopt;
  return std::vector<int64_t>(a->as<int64_t>(), a->as<int64_t>() + a->size());
}

// The other input of a two-input node one of whose inputs is `v` (either order if commutative).
const OrtValueInfo* OtherInput(const OrtNode* n, const OrtValueInfo* v, bool commutative) {
  std::vector<const OrtValueInfo*> in = Inputs(n);
  if (in.size() != 2) return nullptr;
  if (in[0] == v && in[1] != v) return in[1];
  if (commutative && in[1] == v && in[0] != v) return in[0];
  return nullptr;
}

// A LayerNormalization parameter: a float tensor of C elements along the last axis, of at most
// x's rank (rank 0 when x's is unknown: then the parameter must be 1-D); c < 0: C unknown, the
// parameter's own (known) size.
bool IsRowParameter(const OrtValueInfo* v, int64_t c, size_t rank) {
  if (v == nullptr) return false;
  const ValueType t = TypeOf(v);
  if (t.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || !t.has_shape || t.dims.empty()) return false;
  if (rank ? t.dims.size() > rank : t.dims.size() != 1) return false;
  for (size_t i = 0; i + 1 < t.dims.size(); ++i)
    if (t.dims[i] != 1) return false;
  return c > 0 ? t.dims.back() == c : t.dims.back() > 0;
}

// LayerNormalization over the last axis as exporters write it before opset 17:
//   m = ReduceMean(x, axes=[-1]); d = x - m; v = ReduceMean(Pow(d, 2), axes=[-1]);
//   y = d / Sqrt(v + eps) * scale [+ bias]
// (Add and Mul in either order; the Pow may be Mul(d, d)). x's shape may be unknown (it often is
// after a Reshape to a computed shape): the kernel then checks at run time that x's last dim is
// the scale's size, and fails cleanly if not.
std::optional<FunctionMatch> MatchLayerNorm(const OrtNode* mean, const FunctionScope& scope) {
  if (!scope.Takes(mean, "ReduceMean")) return std::nullopt;
  std::vector<const OrtValueInfo*> in = Inputs(mean);
  if (in.empty() || in[0] == nullptr) return std::nullopt;
  const OrtValueInfo* x = in[0];
  const ValueType xt = TypeOf(x);
  if (xt.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || (xt.has_shape && xt.dims.empty())) return std::nullopt;
  const size_t rank = xt.has_shape ? xt.dims.size() : 0;
  const int64_t c = rank ? xt.dims.back() : -1;
  auto last_axis = [&](const OrtNode* n) {
    std::optional<std::vector<int64_t>> a = MeanAxes(n);
    return a && a->size() == 1 && ((*a)[0] == -1 || (rank && (*a)[0] == static_cast<int64_t>(rank) - 1));
  };
  if (!last_axis(mean)) return std::nullopt;
  FunctionMatch f;
  f.nodes.push_back(mean);
  // d = x - m
  const OrtNode* sub = scope.Next(Out0(mean), "Sub");
  if (!sub || Inputs(sub) != std::vector<const OrtValueInfo*>{x, Out0(mean)}) return std::nullopt;
  f.nodes.push_back(sub);
  const OrtValueInfo* d = Out0(sub);
  if (d == nullptr || IsGraphOutput(d)) return std::nullopt;
  // d's consumers: the square (Pow(d, 2), or Mul(d, d): two uses) and the division
  std::optional<std::vector<const OrtNode*>> uses = Consumers(d);
  if (!uses) return std::nullopt;
  const OrtNode* square = nullptr;
  const OrtNode* div = nullptr;
  for (const OrtNode* u : std::set<const OrtNode*>(uses->begin(), uses->end())) {
    std::vector<const OrtValueInfo*> ui = Inputs(u);
    std::optional<float> e = ui.size() == 2 ? ScalarConstant(ui[1]) : std::nullopt;
    if (!square && scope.Takes(u, "Pow") && ui.size() == 2 && ui[0] == d && e && *e == 2.f)
      square = u;
    else if (!square && scope.Takes(u, "Mul") && ui.size() == 2 && ui[0] == d && ui[1] == d)
      square = u;
    else if (!div && scope.Takes(u, "Div") && ui.size() == 2 && ui[0] == d)
      div = u;
    else
      return std::nullopt;  // another use of d
  }
  if (!square || !div) return std::nullopt;
  f.nodes.push_back(square);
  const OrtNode* var = scope.Next(Out0(square), "ReduceMean");
  if (!var || !last_axis(var) || Inputs(var)[0] != Out0(square)) return std::nullopt;
  f.nodes.push_back(var);
  const OrtNode* add = scope.Next(Out0(var), "Add");
  if (!add) return std::nullopt;
  std::optional<float> eps = ScalarConstant(OtherInput(add, Out0(var), true));
  if (!eps || !(*eps >= 0.f)) return std::nullopt;
  f.nodes.push_back(add);
  const OrtNode* sqrt = scope.Next(Out0(add), "Sqrt");
  if (!sqrt) return std::nullopt;
  f.nodes.push_back(sqrt);
  // the division by the standard deviation
  if (scope.Next(Out0(sqrt), "Div") != div || OtherInput(div, d, false) != Out0(sqrt)) return std::nullopt;
  f.nodes.push_back(div);
  // * scale (required by LayerNormalization), + bias (optional)
  const OrtNode* mul = scope.Next(Out0(div), "Mul");
  const OrtValueInfo* scale = mul ? OtherInput(mul, Out0(div), true) : nullptr;
  if (!IsRowParameter(scale, c, rank)) return std::nullopt;
  const int64_t cols = TypeOf(scale).dims.back();
  f.nodes.push_back(mul);
  const OrtValueInfo* y = Out0(mul);
  const OrtValueInfo* bias = nullptr;
  if (const OrtNode* badd = scope.Next(y, "Add")) {
    const OrtValueInfo* b = OtherInput(badd, y, true);
    if (IsRowParameter(b, cols, rank)) {
      f.nodes.push_back(badd);
      bias = b;
      y = Out0(badd);
    }
  }
  if (y == nullptr || TypeOf(y).type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) return std::nullopt;
  f.inputs = {x, scale, bias};
  f.attrs.ints["axis"] = -1;
  f.attrs.floats["epsilon"] = *eps;
  f.output = y;
  return f;
}

using FunctionMatcher = std::optional<FunctionMatch> (*)(const OrtNode* first, const FunctionScope& scope);
struct FunctionPattern {
  const char* name;
  const char* op;
  int since;
  FunctionMatcher match;
};

const std::vector<FunctionPattern>& Functions() {
#define ANVIL_FUNCTION(name, op, since, matcher) FunctionPattern{name, op, since, matcher},
  static const std::vector<FunctionPattern> functions = {
#include "fusion/patterns.inc"
  };
  return functions;
}

// Merges consecutive linear steps: a2 * (a1 * y + b1) + b2.
void MergeLinear(std::vector<PostOp>& steps) {
  std::vector<PostOp> out;
  for (const PostOp& s : steps) {
    if (!out.empty() && s.kind == PostOp::Kind::kLinear && out.back().kind == PostOp::Kind::kLinear) {
      PostOp& p = out.back();
      p.beta = s.alpha * p.beta + s.beta;
      p.alpha = s.alpha * p.alpha;
      continue;
    }
    out.push_back(s);
  }
  steps = std::move(out);
}

}  // namespace

std::string ValueName(const OrtValueInfo* value) {
  const char* s = nullptr;
  return value && Ok(Api().GetValueInfoName(value, &s)) && s ? s : "";
}

// Appends the steps a tail matcher found to group g: their operands' values, the nodes (taken),
// the description; the tail continues from `out`.
void Extend(Group* g, std::set<const OrtNode*>* taken, std::vector<PostOp> steps,
            const std::vector<const OrtValueInfo*>& operands, const std::vector<const OrtNode*>& nodes,
            const std::string& what, const OrtValueInfo* out, const OrtValueInfo** next) {
  g->steps = std::move(steps);
  for (const OrtValueInfo* v : operands) g->operand_values.push_back(ValueName(v));
  for (const OrtNode* n : nodes) {
    g->nodes.push_back(n);
    taken->insert(n);
  }
  g->description += " + " + what;
  *next = out;
}

// A LayerNorm over x, the value an anchor's tail has reached: a LayerNormalization node
// over the last axis, or the decomposed form exporters write (MatchLayerNorm). Its normalisation
// and scale become a kLayerNorm step, its bias an Add of a tensor. Every consumer of x must be in
// the LayerNorm. Returns whether it was taken.
bool TakeLayerNorm(const OrtValueInfo* x, const FunctionScope& scope, const OrtNode* anchor,
                   const std::function<bool(const OrtNode*, const std::vector<PostOp>&)>& accepts, Group* g,
                   std::set<const OrtNode*>* taken, const OrtValueInfo** next) {
  if (IsGraphOutput(x)) return false;
  std::optional<std::vector<const OrtNode*>> uses = Consumers(x);
  if (!uses || uses->empty()) return false;
  auto take = [&](const std::vector<const OrtNode*>& nodes, const OrtValueInfo* scale, const OrtValueInfo* bias,
                  float eps, const OrtValueInfo* out, const char* what) {
    const std::set<const OrtNode*> inside(nodes.begin(), nodes.end());
    for (const OrtNode* u : *uses)
      if (!inside.count(u)) return false;
    std::vector<PostOp> trial = g->steps;
    PostOp norm;
    norm.kind = PostOp::Kind::kLayerNorm;
    norm.alpha = eps;
    norm.operand = g->operand_values.size();
    trial.push_back(norm);
    if (bias) {
      PostOp add;
      add.kind = PostOp::Kind::kAdd;
      add.operand = g->operand_values.size() + 1;
      trial.push_back(add);
    }
    if (!accepts(anchor, trial)) return false;
    std::vector<const OrtValueInfo*> operands = {scale};
    if (bias) operands.push_back(bias);
    Extend(g, taken, std::move(trial), operands, nodes, what, out, next);
    return true;
  };
  const ValueType xt = TypeOf(x);
  const size_t rank = xt.has_shape ? xt.dims.size() : 0;
  const int64_t c = rank ? xt.dims.back() : -1;
  if (uses->size() == 1 && scope.Takes((*uses)[0], "LayerNormalization")) {
    const OrtNode* ln = (*uses)[0];
    GraphNodeInfo info(ln);
    const int64_t axis = info.Int("axis", -1);
    std::vector<const OrtValueInfo*> in = Inputs(ln), out = Outputs(ln);
    const bool last_axis = axis == -1 || (rank && axis == static_cast<int64_t>(rank) - 1);
    bool only_y = !out.empty() && out[0] != nullptr;
    for (size_t i = 1; i < out.size(); ++i) only_y = only_y && out[i] == nullptr;
    const OrtValueInfo* bias = in.size() > 2 ? in[2] : nullptr;
    if (last_axis && only_y && in.size() >= 2 && in[0] == x && IsRowParameter(in[1], c, rank) &&
        (!bias || IsRowParameter(bias, c, rank)) && TypeOf(out[0]).type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
      return take({ln}, in[1], bias, info.Float("epsilon").value_or(1e-5f), out[0], "LayerNormalization");
    return false;
  }
  for (const OrtNode* first : *uses) {
    if (OpType(first) != "ReduceMean") continue;
    std::optional<FunctionMatch> f = MatchLayerNorm(first, scope);
    if (!f || f->inputs.size() != 3 || f->inputs[0] != x) continue;
    return take(f->nodes, f->inputs[1], f->inputs[2], f->attrs.floats.at("epsilon"), f->output,
                "LayerNorm (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)");
  }
  return false;
}

// Whether t is a float tensor of zeros only.
bool IsZeros(const TensorView& t) {
  if (t.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || (t.size() > 0 && t.data == nullptr)) return false;
  const float* f = t.as<float>();
  for (int64_t i = 0; i < t.size(); ++i)
    if (f[i] != 0.f) return false;
  return true;
}

// An Add of x and Concat(t, zeros) along one axis (a tensor zero-padded at the end of that axis:
// BlazeFace pads its residuals' channels so), x the value a tail has reached: a kAddPadded step
// on t, the Concat and the Add taken. x's shape must be known; the zeros are a constant of x's
// shape but a smaller dim at the axis, and t has the rest (as far as the graph says: the
// Transposes ORT's layout transformer adds carry no shapes; the kernel checks t's at run time).
// Every consumer of x and of the Concat's output must be the Add. Returns whether it was taken.
bool TakePaddedAdd(const OrtValueInfo* x, const FunctionScope& scope, const OrtNode* anchor,
                   const std::function<bool(const OrtNode*, const std::vector<PostOp>&)>& accepts, Group* g,
                   std::set<const OrtNode*>* taken, const OrtValueInfo** next) {
  const ValueType xt = TypeOf(x);
  if (!xt.has_shape || xt.dims.empty() || IsGraphOutput(x)) return false;
  for (int64_t d : xt.dims)
    if (d < 0) return false;
  const OrtNode* add = scope.Next(x, "Add");
  if (add == nullptr) return false;
  const OrtValueInfo* padded = OtherInput(add, x, true);
  if (padded == nullptr || IsGraphOutput(padded)) return false;
  const OrtNode* concat = nullptr;
  if (!Ok(Api().ValueInfo_GetValueProducer(padded, &concat, nullptr)) || !scope.Takes(concat, "Concat") ||
      scope.Next(padded, "Add") != add)
    return false;
  const std::vector<const OrtValueInfo*> in = Inputs(concat);
  if (in.size() != 2 || in[0] == nullptr || in[0] == x) return false;
  const int64_t rank = static_cast<int64_t>(xt.dims.size());
  int64_t axis = GraphNodeInfo(concat).Int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return false;
  // The zeros: a constant of x's shape but at the axis, where t's part is what it leaves.
  const std::optional<TensorView> zeros = GraphNodeInfo(concat).ConstantInput(1);
  if (!zeros || static_cast<int64_t>(zeros->shape.size()) != rank || !IsZeros(*zeros)) return false;
  std::vector<int64_t> t_dims = xt.dims;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && zeros->shape[d] != xt.dims[d]) return false;
  t_dims[axis] = xt.dims[axis] - zeros->shape[axis];
  if (zeros->shape[axis] <= 0 || t_dims[axis] <= 0) return false;
  const ValueType tt = TypeOf(in[0]);
  if (tt.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) return false;
  if (tt.has_shape) {
    if (tt.dims.size() != t_dims.size()) return false;
    for (int64_t d = 0; d < rank; ++d)
      if (tt.dims[d] >= 0 && tt.dims[d] != t_dims[d]) return false;
  }
  const OrtValueInfo* y = Out0(add);
  if (y == nullptr || TypeOf(y).type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) return false;
  std::vector<PostOp> trial = g->steps;
  PostOp step;
  step.kind = PostOp::Kind::kAddPadded;
  step.operand = g->operand_values.size();
  step.axis = static_cast<int32_t>(axis);
  step.extent = t_dims[axis];
  trial.push_back(step);
  if (anchor && !accepts(anchor, trial)) return false;
  Extend(g, taken, std::move(trial), {in[0]}, {concat, add}, "Add a zero-padded tensor (Concat with zeros)", y, next);
  return true;
}

std::vector<Group> FindGroups(const std::vector<const OrtNode*>& nodes,
                              const std::function<bool(const OrtNode*)>& claimable,
                              const std::function<bool(const OrtNode*, const std::vector<PostOp>&)>& accepts,
                              const std::function<bool(const NodeInfo&)>& runs) {
  std::vector<Group> groups;
  std::set<const OrtNode*> taken;
  FunctionScope scope(claimable, taken);
  for (const OrtNode* first : nodes) {
    if (taken.count(first)) continue;
    // The head: an anchor node, or a function starting at this node.
    Group g;
    const OrtValueInfo* x = nullptr;
    const OrtNode* anchor = nullptr;  // an anchor or element-wise head (a node run by its own kernel)
    bool own_tail = false;            // the anchor's kernel takes the tail (else the group applies it)
    const std::string domain = Domain(first), op = OpType(first);
    const bool anchor_op = IsAnchor(op) && (domain.empty() || domain == kNhwcDomain);
    if ((anchor_op || (IsElementwiseHead(op) && (domain.empty() || domain == kNhwcDomain))) && claimable(first)) {
      std::vector<const OrtValueInfo*> outs = Outputs(first);
      if (outs.size() != 1 || outs[0] == nullptr) continue;
      anchor = first;
      own_tail = anchor_op;
      x = outs[0];
      g.nodes.push_back(anchor);
      g.description = op;
    } else {
      for (const FunctionPattern& fp : Functions()) {
        std::optional<FunctionMatch> f = fp.match(first, scope);
        if (!f) continue;
        FunctionNodeInfo info(fp.name, fp.op, fp.since, f->inputs, {f->output}, f->attrs);
        if (!runs(info)) continue;
        g.nodes = f->nodes;
        g.description = fp.name;
        g.function.op = fp.op;
        g.function.since = fp.since;
        g.function.attrs = f->attrs;
        for (const OrtValueInfo* v : f->inputs) g.function.inputs.push_back(ValueName(v));
        x = f->output;
        break;
      }
      if (x == nullptr) continue;
    }
    const ValueType xt = TypeOf(x);
    // (a function's output may have an unknown shape: its tail is then unary steps and scalars)
    if (xt.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || (anchor && !xt.has_shape)) continue;
    g.head_output = ValueName(x);
    for (const OrtNode* n : g.nodes) taken.insert(n);
    // The tail.
    // Element-wise heads and functions sit in shape arithmetic too (small tensors of unknown
    // dims), where a bet on unknown dims often loses: their operands must be shown to fit.
    Matcher matcher(claimable, taken, /*strict=*/!own_tail);
    bool grew = true;
    while (grew && g.steps.size() < kMaxPostOps) {
      // (before "Add a tensor", which would take the Add with the padded tensor as its operand)
      grew = TakePaddedAdd(x, scope, own_tail ? anchor : nullptr, accepts, &g, &taken, &x);
      for (size_t pi = 0; !grew && pi < Patterns().size(); ++pi) {
        const Pattern& p = Patterns()[pi];
        Match m;
        const OrtValueInfo* next = nullptr;
        if (!matcher.Try(p, x, xt, &m, &next)) continue;
        Emitted e = p.emit(m);
        std::vector<PostOp> trial = g.steps;
        if (e.binary) e.op.operand = g.operand_values.size();
        trial.push_back(e.op);
        if (own_tail && !accepts(anchor, trial)) continue;  // (otherwise the group applies the tail)
        Extend(&g, &taken, std::move(trial), e.binary ? std::vector<const OrtValueInfo*>{m.tensor} : std::vector<const OrtValueInfo*>{},
               m.nodes, p.name, next, &x);
        grew = true;
      }
      // (the anchor's Fuse decides: MatMul and Gemm take it, a convolution refuses)
      if (!grew && own_tail) grew = TakeLayerNorm(x, scope, anchor, accepts, &g, &taken, &x);
    }
    if (anchor && g.steps.empty()) {  // an anchor or element-wise head alone is just its node
      taken.erase(anchor);
      continue;
    }
    MergeLinear(g.steps);
    groups.push_back(std::move(g));
  }
  return groups;
}

}  // namespace anvil::fusion
