// Element-wise kernels: binary arithmetic with numpy broadcasting, Pow, activations, Clip, Cast,
// one-input math (Log, Exp, Neg, Abs, and the table of MathKernel: trigonometric, hyperbolic, Erf,
// rounding, Softplus, Elu, Gelu, ...), variadic Max/Min/Sum/Mean, comparisons and logic with bool
// output, PRelu, Mod, bitwise ops.
#pragma once
#include "kernels/kernel.h"

namespace anvil {

// Type sets of the element-wise rows in kernels.inc beyond kernel.h's.
constexpr TypeSet kMathFD = kFloat | kDouble;
constexpr TypeSet kMathInts = kInt8 | kUint8 | kInt32 | kInt64 | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16) |
                              TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16) |
                              TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32) |
                              TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
constexpr TypeSet kMathNumeric = kMathFD | kMathInts;
constexpr TypeSet kMathUnsigned = kUint8 | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32) |
                                  TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
// Add/Sub/Mul/Div before revision 14; Max/Min and Clip from revision 12.
constexpr TypeSet kMathArith7 = kMathFD | kInt32 | kInt64 | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32) |
                                TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
constexpr TypeSet kMathMinMax12 = kMathArith7 | kInt8 | kUint8;
constexpr TypeSet kMathSigned = kMathFD | kInt8 | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16) | kInt32 | kInt64;

// Add, Sub, Mul, Div share one implementation (binary.cc).
enum class ArithOp { kAdd, kSub, kMul, kDiv };

class ArithKernel : public Kernel {
 public:
  ArithKernel(ArithOp op, ElemType type) : op_(op), type_(type) {}
  static Status CreateFor(ArithOp op, const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ArithOp op_;
  ElemType type_;
};

// The registered names: each only provides Create, which builds an ArithKernel for its op.
class AddKernel final : public ArithKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class SubKernel final : public ArithKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class MulKernel final : public ArithKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class DivKernel final : public ArithKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};

class PowKernel final : public Kernel {
 public:
  // A constant single-element exponent with a cheap closed form (float base only).
  enum class Fast { kNone, kOne, kSquare, kCube, kSqrt };
  PowKernel(ElemType base, ElemType exponent, Fast fast) : base_(base), exponent_(exponent), fast_(fast) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType base_, exponent_;
  Fast fast_;
};

class ReluKernel final : public Kernel {
 public:
  explicit ReluKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;
};

class SqrtKernel final : public Kernel {
 public:
  explicit SqrtKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;  // float or double
};

class SigmoidKernel final : public Kernel {
 public:
  explicit SigmoidKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;  // float or double
};

class HardSigmoidKernel final : public Kernel {
 public:
  HardSigmoidKernel(float alpha, float beta) : alpha_(alpha), beta_(beta) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  float alpha_, beta_;
};

class HardSwishKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class ClipKernel final : public Kernel {
 public:
  // Revision 6: bounds from attributes. Revision 11+: from optional inputs 1 and 2, read at run
  // time; a missing input means no bound on that side.
  ClipKernel(ElemType type, bool from_inputs, double min, double max)
      : type_(type), from_inputs_(from_inputs), min_(min), max_(max) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;
  bool from_inputs_;
  double min_, max_;  // attribute bounds (revision 6 only)
};

class LeakyReluKernel final : public Kernel {
 public:
  LeakyReluKernel(ElemType type, float alpha) : type_(type), alpha_(alpha) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;  // float, or double from revision 16
  float alpha_;
};

class ExpKernel final : public Kernel {
 public:
  explicit ExpKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;  // float or double
};

class LogKernel final : public Kernel {
 public:
  explicit LogKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;  // float or double
};

// Neg (float, double, int8/16/32/64) and Abs (every numeric type): integers wrap, -INT_MIN is
// INT_MIN, as in numpy.
class NegKernel final : public Kernel {
 public:
  explicit NegKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;
};

class AbsKernel final : public Kernel {
 public:
  explicit AbsKernel(ElemType type) : type_(type) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_;
};

// Max and Min over 1..N inputs with numpy broadcasting (minmax.cc). NaN propagates.
class MinMaxKernel : public Kernel {
 public:
  MinMaxKernel(bool is_max, ElemType type) : is_max_(is_max), type_(type) {}
  static Status CreateFor(bool is_max, const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool is_max_;
  ElemType type_;
};
class MaxKernel final : public MinMaxKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class MinKernel final : public MinMaxKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};

// Two-input ops with a bool output and numpy broadcasting (compare.cc).
enum class CompareOp { kEqual, kGreater, kGreaterOrEqual, kLess, kLessOrEqual, kAnd, kOr };

class CompareKernel : public Kernel {
 public:
  CompareKernel(CompareOp op, ElemType type) : op_(op), type_(type) {}
  static Status CreateFor(CompareOp op, const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  CompareOp op_;
  ElemType type_;
};
class EqualKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class GreaterKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class GreaterOrEqualKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class LessKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class LessOrEqualKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class AndKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
class OrKernel final : public CompareKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};

class NotKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class CastKernel final : public Kernel {
 public:
  CastKernel(ElemType from, ElemType to) : from_(from), to_(to) {}
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType from_, to_;
};

// One-input math and activations (Reciprocal, Tanh, Erf, Floor, Ceil, Round, the trigonometric and
// hyperbolic functions, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu, Gelu, Mish), Sign,
// Shrink, IsNaN, IsInf and BitwiseNot: one kernel, the function chosen by the op type (math.cc).
class MathKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  enum class Kind { kMath, kSign, kShrink, kIsNaN, kIsInf, kBitwiseNot };
  Kind kind = Kind::kMath;
  int op = 0;  // ew::MathOp for kMath
  ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  double alpha = 0, gamma = 0;  // op attributes
  float lambd = 0.5f, bias = 0.f;
  bool negative = true, positive = true;
};

// Two-input ops with numpy broadcasting: PRelu, Mod, BitShift, BitwiseAnd/Or/Xor, Xor
// (math_binary.cc).
class MathBinaryKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  enum class Kind { kPRelu, kModInt, kFmod, kShiftLeft, kShiftRight, kAnd, kOr, kXor, kBoolXor };
  Kind kind = Kind::kPRelu;
  ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
};

// Sum and Mean over 1..N inputs with numpy broadcasting (math_binary.cc).
class SumMeanKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  bool mean = false;
  ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
};

}  // namespace anvil
