// NodeInfo over ORT's two views of a node: the graph node seen in GetCapability, and the
// OrtKernelInfo seen when ORT creates the kernel; and over a node Anvil makes up for a fused
// function (several graph nodes that compute one ONNX op, src/fusion).
#pragma once
#include <map>

#include "kernels/kernel.h"

namespace anvil {

class GraphNodeInfo final : public NodeInfo {
 public:
  explicit GraphNodeInfo(const OrtNode* node);
  std::string Name() const override;
  std::string OpType() const override;
  int SinceVersion() const override;
  size_t InputCount() const override { return inputs_.size(); }
  bool InputExists(size_t i) const override { return i < inputs_.size() && inputs_[i] != nullptr; }
  ElemType InputType(size_t i) const override;
  std::optional<Shape> InputShape(size_t i) const override;
  std::optional<TensorView> ConstantInput(size_t i) const override;
  size_t OutputCount() const override { return outputs_.size(); }
  ElemType OutputType(size_t i) const override;
  std::optional<int64_t> Int(const char* name) const override;
  std::optional<float> Float(const char* name) const override;
  std::optional<std::string> String(const char* name) const override;
  std::optional<std::vector<int64_t>> Ints(const char* name) const override;
  std::optional<std::vector<float>> Floats(const char* name) const override;
  std::optional<std::vector<std::string>> Strings(const char* name) const override;
  std::optional<TensorAttr> Tensor(const char* name) const override;
  using NodeInfo::Float;
  using NodeInfo::Int;
  using NodeInfo::Ints;
  using NodeInfo::String;

 private:
  const OrtOpAttr* Attr(const char* name, OrtOpAttrType type) const;
  const OrtNode* node_;
  std::vector<const OrtValueInfo*> inputs_;
  std::vector<const OrtValueInfo*> outputs_;
};

class KernelNodeInfo final : public NodeInfo {
 public:
  explicit KernelNodeInfo(const OrtKernelInfo* info);
  std::string Name() const override;
  std::string OpType() const override;
  int SinceVersion() const override;
  size_t InputCount() const override;
  bool InputExists(size_t i) const override;
  ElemType InputType(size_t i) const override;
  std::optional<Shape> InputShape(size_t i) const override;
  std::optional<TensorView> ConstantInput(size_t i) const override;
  size_t OutputCount() const override;
  ElemType OutputType(size_t i) const override;
  std::optional<int64_t> Int(const char* name) const override;
  std::optional<float> Float(const char* name) const override;
  std::optional<std::string> String(const char* name) const override;
  std::optional<std::vector<int64_t>> Ints(const char* name) const override;
  std::optional<std::vector<float>> Floats(const char* name) const override;
  std::optional<std::vector<std::string>> Strings(const char* name) const override;
  std::optional<TensorAttr> Tensor(const char* name) const override;
  using NodeInfo::Float;
  using NodeInfo::Int;
  using NodeInfo::Ints;
  using NodeInfo::String;

 private:
  const OrtKernelInfo* info_;
};

// An ONNX op over values of an OrtGraph that no node of the graph is: a fused function's op
// (LayerNormalization for ReduceMean, Sub, Pow, ...), with the attributes the match found.
// Inputs may be null (a missing optional input).
class FunctionNodeInfo final : public NodeInfo {
 public:
  struct Attrs {
    std::map<std::string, int64_t> ints;
    std::map<std::string, float> floats;
  };
  FunctionNodeInfo(std::string name, std::string op, int since, std::vector<const OrtValueInfo*> inputs,
                   std::vector<const OrtValueInfo*> outputs, Attrs attrs)
      : name_(std::move(name)), op_(std::move(op)), since_(since), inputs_(std::move(inputs)),
        outputs_(std::move(outputs)), attrs_(std::move(attrs)) {}
  std::string Name() const override { return name_; }
  std::string OpType() const override { return op_; }
  int SinceVersion() const override { return since_; }
  size_t InputCount() const override { return inputs_.size(); }
  bool InputExists(size_t i) const override { return i < inputs_.size() && inputs_[i] != nullptr; }
  ElemType InputType(size_t i) const override;
  std::optional<Shape> InputShape(size_t i) const override;
  std::optional<TensorView> ConstantInput(size_t i) const override;
  size_t OutputCount() const override { return outputs_.size(); }
  ElemType OutputType(size_t i) const override;
  std::optional<int64_t> Int(const char* name) const override;
  std::optional<float> Float(const char* name) const override;
  std::optional<std::string> String(const char*) const override { return std::nullopt; }
  std::optional<std::vector<int64_t>> Ints(const char*) const override { return std::nullopt; }
  std::optional<std::vector<float>> Floats(const char*) const override { return std::nullopt; }
  std::optional<std::vector<std::string>> Strings(const char*) const override { return std::nullopt; }
  using NodeInfo::Float;
  using NodeInfo::Int;
  using NodeInfo::Ints;
  using NodeInfo::String;

 private:
  std::string name_, op_;
  int since_;
  std::vector<const OrtValueInfo*> inputs_, outputs_;
  Attrs attrs_;
};

// A value's element type and shape as the graph declares them, and its value if it is a
// constant initializer.
ElemType ValueType(const OrtValueInfo* value);
std::optional<Shape> ValueShape(const OrtValueInfo* value);
std::optional<TensorView> ConstantValue(const OrtValueInfo* value);

// Reads an OrtValue tensor into a view (type, shape, data pointer).
TensorView ViewOf(const OrtValue* value);

}  // namespace anvil
