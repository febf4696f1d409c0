#include <string>
#include <vector>

#include "compute/nn/einsum.h"
#include "kernels/nn/nn.h"

namespace anvil {

Status EinsumKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  auto equation = node.String("equation");
  ANVIL_CHECK(equation.has_value(), "Einsum: no equation");
  auto k = std::make_unique<EinsumKernel>();
  const std::string err = nn::ParseEinsum(*equation, k->spec_);
  ANVIL_CHECK(err.empty(), "Einsum '", *equation, "': ", err);
  const size_t n = node.InputCount();
  ANVIL_CHECK(n == k->spec_.inputs.size(), "Einsum '", *equation, "' names ", k->spec_.inputs.size(),
              " operands, the node has ", n);
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE ||
                  t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,
              "Einsum: type ", ElemTypeName(t), " is not supported");
  std::vector<int64_t> known(static_cast<size_t>(k->spec_.letters), -1);
  for (size_t i = 0; i < n; ++i) {
    ANVIL_CHECK(node.InputPresent(i) && node.InputType(i) == t, "Einsum: input ", i, " is missing or of another type");
    auto s = node.InputShape(i);
    if (!s) continue;
    ANVIL_CHECK(s->size() == k->spec_.inputs[i].size(), "Einsum '", *equation, "': operand ", i, " has rank ",
                s->size(), ", its term ", k->spec_.inputs[i].size(), " letters");
    for (size_t a = 0; a < s->size(); ++a) {
      const int64_t d = (*s)[a];
      int64_t& kd = known[static_cast<size_t>(k->spec_.inputs[i][a])];
      if (d < 0) continue;
      ANVIL_CHECK(kd < 0 || kd == d, "Einsum '", *equation, "': a letter has sizes ", kd, " and ", d);
      kd = d;
    }
  }
  k->type_ = t;
  if (out) *out = std::move(k);
  return {};
}

Status EinsumKernel::Compute(ComputeContext& ctx) const {
  const size_t n = ctx.InputCount();
  std::vector<TensorView> views(n);
  std::vector<const int64_t*> dims(n);
  std::vector<int> ranks(n);
  for (size_t i = 0; i < n; ++i) {
    views[i] = ctx.Input(i);
    dims[i] = views[i].shape.data();
    ranks[i] = static_cast<int>(views[i].shape.size());
  }
  std::vector<int64_t> sizes;
  const std::string err = nn::EinsumLetterSizes(spec_, dims, ranks, sizes);
  ANVIL_CHECK(err.empty(), "Einsum: ", err);
  Shape out_shape;
  for (int l : spec_.output) out_shape.push_back(sizes[static_cast<size_t>(l)]);
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  auto run = [&](auto zero) {
    using T = decltype(zero);
    std::vector<const T*> in(n);
    for (size_t i = 0; i < n; ++i) in[i] = views[i].as<T>();
    nn::Einsum<T>(spec_, sizes, in, dims, static_cast<T*>(y));
  };
  switch (type_) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: run(double{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: run(int32_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: run(int64_t{}); break;
    default: run(float{}); break;
  }
  return {};
}

}  // namespace anvil
