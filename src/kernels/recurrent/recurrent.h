// RNN, GRU and LSTM (every attribute ONNX defines: direction, layout, sequence_lens, initial
// states, peepholes, activations with alpha/beta, clip, input_forget, linear_before_reset, any
// subset of the outputs). The cell loops are in compute/recurrent/.
#pragma once
#include <optional>
#include <vector>

#include "compute/recurrent/recurrent.h"
#include "kernels/kernel.h"

namespace anvil {

// One kernel class for the three ops; the cell comes from the op type.
class RecurrentKernel final : public Kernel {
 public:
  static Status CreateFor(rnn::Cell cell, const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
  // W (input 1) and R (input 2) re-laid out as panels (compute/recurrent/recurrent.h).
  Status PrePack(const TensorView& weight, int input_index, PackSink& sink, bool& packed) override;
  Status UsePacked(int input_index, const std::vector<const void*>& buffers,
                   const std::vector<size_t>& sizes) override;

 private:
  template <typename T>
  Status Run(ComputeContext& ctx) const;
  // Elements of the panels of W (input 1) or R (input 2) for all directions, K being W's input size.
  int64_t PackedElems(int input_index, int64_t input_size) const;
  template <typename T>
  void Pack(int input_index, const T* weight, int64_t input_size, T* panels) const;

  rnn::Problem attrs_;  // everything but the sizes
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  bool y_ = false, y_h_ = false, y_c_ = false;  // outputs requested
  std::optional<Shape> w_shape_, r_shape_;        // as known when the kernel was made
  const void* packed_w_ = nullptr;                // panels from UsePacked, or null
  const void* packed_r_ = nullptr;
};

struct RnnKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return RecurrentKernel::CreateFor(rnn::Cell::kRnn, node, out);
  }
};
struct GruKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return RecurrentKernel::CreateFor(rnn::Cell::kGru, node, out);
  }
};
struct LstmKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return RecurrentKernel::CreateFor(rnn::Cell::kLstm, node, out);
  }
};

}  // namespace anvil
