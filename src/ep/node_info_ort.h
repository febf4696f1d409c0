// NodeInfo over ORT's two views of a node: the graph node seen in GetCapability, and the
// OrtKernelInfo seen when ORT creates the kernel.
#pragma once
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

// Reads an OrtValue tensor into a view (type, shape, data pointer).
TensorView ViewOf(const OrtValue* value);

}  // namespace anvil
