// HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix, TfIdfVectorizer.
#include "kernels/signal/signal.h"

#include <algorithm>
#include <cmath>

#include "compute/parallel.h"
#include "compute/signal/signal.h"

namespace anvil {
namespace {

bool IsIndexType(ElemType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
}

Status ReadIntScalar(const TensorView& t, const char* what, int64_t& out) {
  ANVIL_CHECK(t.data != nullptr && t.size() == 1 && t.shape.size() <= 1, what, " must be a scalar, got shape ",
              ToString(t.shape));
  if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
    out = t.as<int64_t>()[0];
  } else if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
    out = t.as<int32_t>()[0];
  } else {
    return Fail(what, " must be int32 or int64, got ", ElemTypeName(t.type));
  }
  return {};
}

Status ReadFloatScalar(const TensorView& t, const char* what, double& out) {
  ANVIL_CHECK(t.data != nullptr && t.size() == 1 && t.shape.size() <= 1, what, " must be a scalar, got shape ",
              ToString(t.shape));
  if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    out = t.as<float>()[0];
  } else if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE) {
    out = t.as<double>()[0];
  } else {
    return Fail(what, " must be float or double, got ", ElemTypeName(t.type));
  }
  return {};
}

bool IsWindowOut(ElemType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
}

}  // namespace

// ---- Windows

Status WindowKernel::CreateFor(WindowKind kind, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0) && IsIndexType(node.InputType(0)), "size must be int32 or int64");
  auto k = std::make_unique<WindowKernel>();
  k->kind_ = kind;
  k->out_type_ = static_cast<ElemType>(node.Int("output_datatype", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT));
  ANVIL_CHECK(IsWindowOut(k->out_type_), "output_datatype ", ElemTypeName(k->out_type_), " is not supported");
  k->periodic_ = node.Int("periodic", 1) != 0;
  if (out) *out = std::move(k);
  return {};
}

Status WindowKernel::Compute(ComputeContext& ctx) const {
  int64_t size = 0;
  ANVIL_RETURN_IF_ERROR(ReadIntScalar(ctx.Input(0), "size", size));
  ANVIL_CHECK(size >= 0, "window size ", size, " is negative");
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{size}, &y));
  double a0 = 0.5, a1 = 0.5, a2 = 0.0;
  if (kind_ == WindowKind::kHamming) a0 = 25.0 / 46.0, a1 = 21.0 / 46.0;
  if (kind_ == WindowKind::kBlackman) a0 = 0.42, a1 = 0.5, a2 = 0.08;
  if (out_type_ == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    signal::CosineSumWindow(static_cast<float*>(y), size, periodic_, a0, a1, a2);
  } else {
    signal::CosineSumWindow(static_cast<double*>(y), size, periodic_, a0, a1, a2);
  }
  return {};
}

// ---- MelWeightMatrix

Status MelWeightMatrixKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() >= 5, "MelWeightMatrix has five inputs");
  for (size_t i = 0; i < 3; ++i) ANVIL_CHECK(IsIndexType(node.InputType(i)), "input ", i, " must be int32 or int64");
  for (size_t i = 3; i < 5; ++i) {
    const ElemType t = node.InputType(i);
    ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, "input ", i,
                " must be float or double");
  }
  auto k = std::make_unique<MelWeightMatrixKernel>();
  k->out_type_ = static_cast<ElemType>(node.Int("output_datatype", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT));
  ANVIL_CHECK(IsWindowOut(k->out_type_), "output_datatype ", ElemTypeName(k->out_type_), " is not supported");
  if (out) *out = std::move(k);
  return {};
}

Status MelWeightMatrixKernel::Compute(ComputeContext& ctx) const {
  int64_t bins = 0, dft = 0, rate = 0;
  double lower = 0, upper = 0;
  ANVIL_RETURN_IF_ERROR(ReadIntScalar(ctx.Input(0), "num_mel_bins", bins));
  ANVIL_RETURN_IF_ERROR(ReadIntScalar(ctx.Input(1), "dft_length", dft));
  ANVIL_RETURN_IF_ERROR(ReadIntScalar(ctx.Input(2), "sample_rate", rate));
  ANVIL_RETURN_IF_ERROR(ReadFloatScalar(ctx.Input(3), "lower_edge_hertz", lower));
  ANVIL_RETURN_IF_ERROR(ReadFloatScalar(ctx.Input(4), "upper_edge_hertz", upper));
  ANVIL_CHECK(bins > 0 && bins < (int64_t{1} << 24), "num_mel_bins ", bins, " is out of range");
  ANVIL_CHECK(dft > 0 && dft < (int64_t{1} << 30), "dft_length ", dft, " is out of range");
  ANVIL_CHECK(rate > 0, "sample_rate ", rate, " must be positive");
  ANVIL_CHECK(lower >= 0 && lower <= upper && upper <= static_cast<double>(rate) / 2.0 + 1e-9,
              "need 0 <= lower_edge_hertz <= upper_edge_hertz <= sample_rate / 2, got ", lower, ", ", upper);
  const int64_t spec = dft / 2 + 1;
  ANVIL_CHECK(spec * bins < (int64_t{1} << 32), "MelWeightMatrix output is too large");
  const std::vector<int64_t> e = signal::MelBandEdges(bins, dft, rate, lower, upper);
  for (int64_t v : e) ANVIL_CHECK(v >= 0 && v < spec, "a mel band edge (", v, ") falls outside the ", spec, " FFT bins");
  std::vector<double> w(static_cast<size_t>(spec * bins), 0.0);
  for (int64_t i = 0; i < bins; ++i) {
    const int64_t lo = e[i], mid = e[i + 1], hi = e[i + 2];
    if (mid == lo) {
      w[mid * bins + i] = 1.0;
    } else {
      for (int64_t j = lo; j <= mid; ++j) w[j * bins + i] = static_cast<double>(j - lo) / static_cast<double>(mid - lo);
    }
    if (hi > mid) {
      for (int64_t j = mid; j < hi; ++j) w[j * bins + i] = static_cast<double>(hi - j) / static_cast<double>(hi - mid);
    }
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{spec, bins}, &y));
  for (size_t i = 0; i < w.size(); ++i) {
    if (out_type_ == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      static_cast<float*>(y)[i] = static_cast<float>(w[i]);
    } else {
      static_cast<double*>(y)[i] = w[i];
    }
  }
  return {};
}

// ---- TfIdfVectorizer

Status TfIdfVectorizerKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0) && IsIndexType(node.InputType(0)), "TfIdfVectorizer: input must be int32 or int64");
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() == 1 || s->size() == 2, "input must be [C] or [N, C]");
  auto k = std::make_unique<TfIdfVectorizerKernel>();
  const std::string mode = node.String("mode", "");
  if (mode == "TF") {
    k->mode_ = Mode::kTF;
  } else if (mode == "IDF") {
    k->mode_ = Mode::kIDF;
  } else if (mode == "TFIDF") {
    k->mode_ = Mode::kTFIDF;
  } else {
    return Fail("TfIdfVectorizer: mode '", mode, "' is not TF, IDF or TFIDF");
  }
  k->min_gram_ = node.Int("min_gram_length", 0);
  k->max_gram_ = node.Int("max_gram_length", 0);
  k->max_skip_ = node.Int("max_skip_count", 0);
  ANVIL_CHECK(k->min_gram_ >= 1 && k->max_gram_ >= k->min_gram_ && k->max_gram_ <= 1024,
              "need 1 <= min_gram_length <= max_gram_length, got ", k->min_gram_, " and ", k->max_gram_);
  ANVIL_CHECK(k->max_skip_ >= 0 && k->max_skip_ <= (int64_t{1} << 20), "max_skip_count ", k->max_skip_, " is out of range");
  const auto strings = node.Strings("pool_strings");
  ANVIL_CHECK(!strings || strings->empty(), "TfIdfVectorizer: pool_strings is not supported");
  const std::vector<int64_t> pool = node.Ints("pool_int64s", {});
  const std::vector<int64_t> counts = node.Ints("ngram_counts", {});
  const std::vector<int64_t> indexes = node.Ints("ngram_indexes", {});
  ANVIL_CHECK(!counts.empty() && !indexes.empty(), "TfIdfVectorizer needs ngram_counts and ngram_indexes");
  ANVIL_CHECK(k->max_gram_ <= static_cast<int64_t>(counts.size()), "max_gram_length ", k->max_gram_,
              " exceeds the ", counts.size(), " n-gram levels of ngram_counts");
  int64_t max_index = -1;
  for (int64_t v : indexes) {
    ANVIL_CHECK(v >= 0 && v < (int64_t{1} << 30), "ngram_indexes value ", v, " is out of range");
    max_index = std::max(max_index, v);
  }
  k->output_size_ = max_index + 1;
  if (auto w = node.Floats("weights")) k->weights_ = *w;
  ANVIL_CHECK(k->weights_.empty() || static_cast<int64_t>(k->weights_.size()) >= k->output_size_, "weights has ",
              k->weights_.size(), " values for ", k->output_size_, " outputs");
  // The trie of the pool's n-grams of the lengths in [min, max]; every n-gram of the pool takes an
  // id in pool order (the others too), which ngram_indexes maps to an output position.
  k->trie_.assign(1, TrieNode{});
  const int64_t total = static_cast<int64_t>(pool.size());
  int64_t id = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    const int64_t n = static_cast<int64_t>(c) + 1;
    const int64_t begin = counts[c], end = c + 1 < counts.size() ? counts[c + 1] : total;
    ANVIL_CHECK(begin >= 0 && begin <= end && end <= total, "ngram_counts is inconsistent with pool_int64s");
    const int64_t grams = (end - begin) / n;
    for (int64_t g = 0; g < grams; ++g, ++id) {
      if (n < k->min_gram_ || n > k->max_gram_) continue;
      ANVIL_CHECK(id < static_cast<int64_t>(indexes.size()), "ngram_indexes has fewer entries than the pool's n-grams");
      int32_t node_id = 0;
      for (int64_t t = 0; t < n; ++t) {
        const int64_t value = pool[begin + g * n + t];
        auto it = k->trie_[node_id].children.find(value);
        if (it == k->trie_[node_id].children.end()) {
          const int32_t next = static_cast<int32_t>(k->trie_.size());
          k->trie_[node_id].children.emplace(value, next);
          k->trie_.push_back(TrieNode{});
          node_id = next;
        } else {
          node_id = it->second;
        }
      }
      k->trie_[node_id].output = indexes[id];
    }
  }
  if (out) *out = std::move(k);
  return {};
}

Status TfIdfVectorizerKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() == 1 || x.shape.size() == 2, "TfIdfVectorizer: input must be [C] or [N, C], got ",
              ToString(x.shape));
  const bool batched = x.shape.size() == 2;
  const int64_t rows = batched ? x.shape[0] : 1;
  const int64_t c = x.shape.back();
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, batched ? Shape{rows, output_size_} : Shape{output_size_}, &y));
  if (rows == 0 || output_size_ == 0) return {};
  const bool is64 = x.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  auto at = [&](int64_t i) -> int64_t { return is64 ? x.as<int64_t>()[i] : x.as<int32_t>()[i]; };
  ParallelFor(rows, std::max<int64_t>(1, c * max_gram_ * (max_skip_ + 1)), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      float* out = y + r * output_size_;
      std::fill(out, out + output_size_, 0.0f);
      const int64_t base = r * c;
      int64_t first_size = min_gram_;
      for (int64_t skip = 1; skip <= max_skip_ + 1; ++skip) {
        for (int64_t start = 0; start < c; ++start) {
          if (start + skip * (first_size - 1) >= c) break;
          int32_t node = 0;
          int64_t item = start;
          for (int64_t size = 1; size <= max_gram_ && item < c; ++size, item += skip) {
            const auto& kids = trie_[node].children;
            auto it = kids.find(at(base + item));
            if (it == kids.end()) break;
            node = it->second;
            if (size >= first_size && trie_[node].output >= 0) out[trie_[node].output] += 1.0f;
          }
        }
        // Unigrams do not depend on the skip: count them in the first pass only.
        if (first_size == 1) {
          first_size = 2;
          if (first_size > max_gram_) break;
        }
      }
      for (int64_t i = 0; i < output_size_; ++i) {
        const float w = weights_.empty() ? 1.0f : weights_[i];
        if (mode_ == Mode::kIDF) {
          out[i] = out[i] > 0 ? w : 0.0f;
        } else if (mode_ == Mode::kTFIDF) {
          out[i] *= w;
        }
      }
    }
  });
  return {};
}

}  // namespace anvil
