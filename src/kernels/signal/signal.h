// Signal-processing ops: HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix and
// TfIdfVectorizer (integer tokens).
#pragma once
#include <unordered_map>

#include "kernels/kernel.h"

namespace anvil {

constexpr TypeSet kWindowOut = kFloat | kDouble;

enum class WindowKind { kHann, kHamming, kBlackman };

class WindowKernel : public Kernel {
 public:
  static Status CreateFor(WindowKind kind, const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  WindowKind kind_ = WindowKind::kHann;
  ElemType out_type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  bool periodic_ = true;
};
class HannWindowKernel final : public WindowKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return CreateFor(WindowKind::kHann, node, out);
  }
};
class HammingWindowKernel final : public WindowKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return CreateFor(WindowKind::kHamming, node, out);
  }
};
class BlackmanWindowKernel final : public WindowKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return CreateFor(WindowKind::kBlackman, node, out);
  }
};

class MelWeightMatrixKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType out_type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
};

class TfIdfVectorizerKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  // The n-gram pool as a trie: node 0 is the root; id is the n-gram's output index + 1, 0 for a
  // prefix that is not an n-gram of the pool.
  struct TrieNode {
    int64_t output = -1;
    std::unordered_map<int64_t, int32_t> children;
  };

 private:
  enum class Mode { kTF, kIDF, kTFIDF };
  Mode mode_ = Mode::kTF;
  int64_t min_gram_ = 1, max_gram_ = 1, max_skip_ = 0, output_size_ = 0;
  std::vector<float> weights_;
  std::vector<TrieNode> trie_;
};

}  // namespace anvil
