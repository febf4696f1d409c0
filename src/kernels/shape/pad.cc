// Pad in every mode (constant, reflect, edge, wrap), pads as an attribute (revision 2) or inputs
// (11+: pads, constant_value; 18+: axes). Negative pads crop. Each output axis gets an index map
// (where each output index reads, or -1 for the constant) and one MapCopy moves the bytes.
#include <algorithm>

#include "compute/shape/index.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape_detail::ReadInts;

Status PadKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto k = std::make_unique<PadKernel>();
  const std::string mode = node.String("mode", "constant");
  if (mode == "constant") {
    k->mode_ = Mode::kConstant;
  } else if (mode == "reflect") {
    k->mode_ = Mode::kReflect;
  } else if (mode == "edge") {
    k->mode_ = Mode::kEdge;
  } else if (mode == "wrap" && node.SinceVersion() >= 19) {
    k->mode_ = Mode::kWrap;
  } else {
    return Fail("mode '", mode, "' is not supported");
  }
  if (node.SinceVersion() < 11) {
    k->from_inputs_ = false;
    auto pads = node.Ints("pads");
    ANVIL_CHECK(pads.has_value(), "Pad needs the pads attribute");
    k->pads_ = *pads;
    k->value_ = node.Float("value", 0.0f);
    const ElemType t = node.InputType(0);
    ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE,
                "Pad-2 supports float and double, got ", ElemTypeName(t));
    if (auto s = node.InputShape(0))
      ANVIL_CHECK(k->pads_.size() == 2 * s->size(), "pads has ", k->pads_.size(), " values for rank ", s->size());
  } else {
    ANVIL_CHECK(node.InputPresent(1), "Pad needs the pads input");
    ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "pads must be int64, got ",
                ElemTypeName(node.InputType(1)));
    if (node.InputPresent(2))
      ANVIL_CHECK(node.InputType(2) == node.InputType(0), "constant_value must have the data's type");
    if (node.InputPresent(3))
      ANVIL_CHECK(shape_detail::IsIndexType(node.InputType(3)), "axes must be int32 or int64, got ",
                  ElemTypeName(node.InputType(3)));
  }
  if (auto s = node.InputShape(0)) ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
  if (out) *out = std::move(k);
  return {};
}

Status PadKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(x.shape.size()));
  ANVIL_CHECK(rank > 0, "Pad needs an input of rank 1 or more, got a scalar");  // as ORT
  const size_t es = ElemSize(x.type);
  // Begin and end pads per axis.
  Shape begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
  alignas(16) unsigned char fill[16] = {};
  if (!from_inputs_) {
    ANVIL_CHECK(static_cast<int64_t>(pads_.size()) == 2 * rank, "pads has ", pads_.size(), " values but the input ",
                ToString(x.shape), " has rank ", rank);
    for (int64_t d = 0; d < rank; ++d) begin[d] = pads_[d], end[d] = pads_[rank + d];
    if (x.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      std::memcpy(fill, &value_, sizeof(float));
    } else {
      const double v = value_;
      std::memcpy(fill, &v, sizeof(double));
    }
  } else {
    Shape pads, axes;
    ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(1), "pads", pads));
    if (ctx.HasInput(3)) {
      ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(3), "axes", axes));
    } else {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    }
    const int64_t na = static_cast<int64_t>(axes.size());
    ANVIL_CHECK(static_cast<int64_t>(pads.size()) == 2 * na, "pads has ", pads.size(), " values for ", na,
                " axes (input ", ToString(x.shape), ")");
    Shape seen(static_cast<size_t>(rank), 0);
    for (int64_t i = 0; i < na; ++i) {
      int64_t a = 0;
      ANVIL_CHECK(NormalizeAxis(axes[i], rank, a), "axis ", axes[i], " is out of range for input ", ToString(x.shape));
      ANVIL_CHECK(!seen[a], "axis ", axes[i], " is repeated");
      seen[a] = 1;
      begin[a] = pads[i];
      end[a] = pads[na + i];
    }
    if (ctx.HasInput(2)) {
      const TensorView v = ctx.Input(2);
      ANVIL_CHECK(v.size() == 1, "constant_value must have one element, got shape ", ToString(v.shape));
      std::memcpy(fill, v.data, es);
    }
  }
  Shape out_shape(static_cast<size_t>(rank));
  int64_t map_len = 0;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t n = x.shape[d];
    ANVIL_CHECK(begin[d] >= -n && end[d] >= -n && begin[d] <= (int64_t{1} << 40) && end[d] <= (int64_t{1} << 40),
                "pads ", begin[d], ", ", end[d], " are out of range for axis ", d, " of input ", ToString(x.shape));
    out_shape[d] = n + begin[d] + end[d];
    ANVIL_CHECK(out_shape[d] >= 0, "pads ", begin[d], ", ", end[d], " remove more than axis ", d, " of input ",
                ToString(x.shape), " has");
    if (mode_ != Mode::kConstant && n == 0)
      ANVIL_CHECK(out_shape[d] == 0, "cannot pad the empty axis ", d, " of input ", ToString(x.shape),
                  " in a mode other than constant");
    map_len += out_shape[d];
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  if (NumElements(out_shape) == 0) return {};
  int64_t* maps = ctx.Scratch<int64_t>(static_cast<size_t>(map_len) + 1);
  const int64_t* map_ptrs[shape::kMaxRank];
  int64_t* m = maps;
  for (int64_t d = 0; d < rank; ++d) {
    // Negative pads crop first; the other modes then read within what is left (as ORT does).
    const int64_t lo = std::max<int64_t>(0, -begin[d]);
    const int64_t n = x.shape[d] - lo - std::max<int64_t>(0, -end[d]);
    const int64_t pre = std::max<int64_t>(0, begin[d]);
    ANVIL_CHECK(mode_ == Mode::kConstant || n > 0 || out_shape[d] == 0, "cannot pad axis ", d, " of input ",
                ToString(x.shape), " in a mode other than constant: nothing is left of it after cropping");
    if (mode_ == Mode::kReflect)
      ANVIL_CHECK(begin[d] < n && end[d] < n, "reflect pads ", begin[d], ", ", end[d], " exceed the largest allowed (",
                  n - 1, ") for axis ", d, " of input ", ToString(x.shape));  // as ORT
    map_ptrs[d] = m;
    for (int64_t i = 0; i < out_shape[d]; ++i) {
      int64_t j = i - pre;
      if (j < 0 || j >= n) {
        switch (mode_) {
          case Mode::kConstant: j = -1; break;
          case Mode::kEdge: j = j < 0 ? 0 : n - 1; break;
          case Mode::kWrap: j = ((j % n) + n) % n; break;
          case Mode::kReflect:
            if (n == 1) {
              j = 0;
            } else {
              const int64_t period = 2 * (n - 1);
              j = ((j % period) + period) % period;
              if (j >= n) j = period - j;
            }
            break;
        }
      }
      m[i] = j < 0 ? -1 : lo + j;
    }
    m += out_shape[d];
  }
  shape::MapCopy(y, x.data, es, static_cast<int>(rank), out_shape.data(), x.shape.data(), map_ptrs, fill);
  return {};
}

}  // namespace anvil
