// The recurrent cells of ONNX's RNN, GRU and LSTM (float and double): one input projection
// X * W^T (+ biases) over every time step as one matrix product, then per step H * R^T and the
// gates, per direction. Plain C++, no ORT types.
//
// Weights are read from "panels": W [N, K] (row-major, as ONNX stores it) re-laid out as
// ceil(N / kPanel) blocks of [K][kPanel] values (columns past N zero), so the product's inner
// loop runs over kPanel contiguous outputs. PackPanels makes them (at pre-pack time for constant
// weights, else per call into scratch memory).
#pragma once
#include <cstddef>
#include <cstdint>

namespace anvil::rnn {

constexpr int64_t kPanel = 16;

// Elements of the panels of an [n, k] matrix.
inline int64_t PanelElems(int64_t n, int64_t k) { return (n + kPanel - 1) / kPanel * kPanel * k; }

template <typename T>
void PackPanels(const T* w, int64_t n, int64_t k, T* panels);

enum class Cell { kRnn, kGru, kLstm };

// ONNX's activation functions for recurrent cells.
enum class Act : uint8_t {
  kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu,
  kSoftsign, kSoftplus
};
struct Activation {
  Act kind = Act::kTanh;
  float alpha = 0.f, beta = 0.f;
};

// Number of gates (rows of W per hidden unit): RNN 1, GRU 3, LSTM 4.
inline int64_t GateCount(Cell c) { return c == Cell::kRnn ? 1 : (c == Cell::kGru ? 3 : 4); }

struct Problem {
  Cell cell = Cell::kLstm;
  int directions = 1;      // 1 or 2
  bool reverse = false;    // a single direction that runs backwards
  bool batch_major = false;  // layout 1: X [batch, seq, input], Y [batch, seq, dirs, hidden]
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  bool clip = false;       // clip gate pre-activations to [-clip_value, clip_value]
  float clip_value = 0.f;
  // Per direction: RNN f; GRU f (z, r), g (h~); LSTM f (i, f, o), g (c~), h (C).
  Activation act[2][3];
  bool input_forget = false;        // LSTM: f = 1 - i
  bool linear_before_reset = false;  // GRU
};

// One direction's parameters. Pointers are into the caller's buffers.
template <typename T>
struct DirectionWeights {
  const T* w = nullptr;   // panels of W [G*H, input]
  const T* r = nullptr;   // panels of R [G*H, H]; GRU: of R's first 2H rows (z, r)
  const T* rh = nullptr;  // GRU: panels of R's last H rows (h)
  const T* bias = nullptr;  // B [2*G*H] (Wb then Rb), or null
  const T* peephole = nullptr;  // LSTM P [3H] (i, o, f), or null
};

template <typename T>
struct Io {
  const T* x = nullptr;
  const int32_t* lengths = nullptr;  // [batch], each in [0, seq], or null (all seq)
  const T* initial_h = nullptr;      // or null (zeros)
  const T* initial_c = nullptr;      // LSTM, or null
  T* y = nullptr;    // each output may be null (not requested)
  T* y_h = nullptr;
  T* y_c = nullptr;
};

// Scratch elements Run needs (one buffer, 64-byte aligned is best).
int64_t WorkspaceElems(const Problem& p);

// Runs the whole node. `workspace` holds WorkspaceElems(p) elements.
template <typename T>
void Run(const Problem& p, const DirectionWeights<T>* weights, const Io<T>& io, T* workspace);

}  // namespace anvil::rnn
