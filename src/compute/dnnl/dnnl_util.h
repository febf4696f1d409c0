// oneDNN helpers shared by Anvil's convolution and matrix-product kernels: the process's CPU
// engine, exception-to-Status conversion, memory descriptors, a self-describing encoding of a
// (blocked) memory descriptor for pre-packed weights, and a small thread-safe plan cache.
// No ORT headers here.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>

#include "core/shape.h"
#include "core/status.h"

namespace anvil::dnnl_util {

using dnnl::memory;

// The one CPU engine of the process, created on first use. Throws dnnl::error if oneDNN cannot
// create it; call under Catch.
const dnnl::engine& CpuEngine();

// Runs fn() (returning Status) and turns any exception (dnnl::error, bad_alloc, ...) into a
// failed Status, so nothing escapes Anvil's kernels.
template <typename Fn>
Status Catch(const char* what, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const dnnl::error& e) {
    return Fail(what, ": oneDNN: ", e.what(), " (status ", static_cast<int>(e.status), ")");
  } catch (const std::bad_alloc&) {
    return Fail(what, ": out of memory");
  } catch (const std::exception& e) {
    return Fail(what, ": ", e.what());
  } catch (...) {
    return Fail(what, ": unknown error");
  }
}

inline memory::dims ToDims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// Dense row-major f32 descriptor (nchw, oihw, ab, ... for the given rank).
memory::desc RowMajor(const memory::dims& dims);
// f32 descriptor with explicit strides (in elements).
memory::desc Strided(const memory::dims& dims, const memory::dims& strides);
// f32 descriptor with format_tag::any, for letting a primitive choose.
memory::desc Any(const memory::dims& dims);

// Fixed-size, padding-free encoding of a blocked memory descriptor: the header of a pre-packed
// weight buffer, so the packed bytes describe their own layout (and are deterministic given the
// weight value and the layout).
struct EncodedDesc {
  int64_t magic;
  int64_t ndims;
  int64_t data_type;
  int64_t offset0;
  int64_t inner_nblks;
  int64_t dims[DNNL_MAX_NDIMS];
  int64_t padded_dims[DNNL_MAX_NDIMS];
  int64_t padded_offsets[DNNL_MAX_NDIMS];
  int64_t strides[DNNL_MAX_NDIMS];
  int64_t inner_blks[DNNL_MAX_NDIMS];
  int64_t inner_idxs[DNNL_MAX_NDIMS];
};
// False if `md` is not a plain blocked descriptor without extra flags (cannot be encoded).
bool EncodeDesc(const memory::desc& md, EncodedDesc* out);
// False if `enc` is not a valid encoding.
bool DecodeDesc(const EncodedDesc& enc, memory::desc* out);

// Copies/relayouts `src` (layout src_md) into `dst` (layout dst_md) on a fresh stream; waits.
// Throws dnnl::error.
void Reorder(const memory::desc& src_md, const void* src, const memory::desc& dst_md, void* dst);

// Key of a plan cache: shapes and scalars, no heap allocation.
class PlanKey {
 public:
  bool Add(int64_t v) {
    if (n_ >= v_.size()) return false;
    v_[n_++] = v;
    return true;
  }
  bool Add(const Shape& s) {
    bool ok = Add(static_cast<int64_t>(s.size()));
    for (int64_t d : s) ok = Add(d) && ok;
    return ok;
  }
  bool operator<(const PlanKey& o) const {
    if (n_ != o.n_) return n_ < o.n_;
    return std::lexicographical_compare(v_.begin(), v_.begin() + n_, o.v_.begin(), o.v_.begin() + o.n_);
  }

 private:
  std::array<int64_t, 48> v_{};
  size_t n_ = 0;
};

// Plans (primitives and their descriptors) per input shape and thread count. Lookups take a
// mutex and copy a shared_ptr; a plan stays alive while a Compute uses it even if evicted.
template <typename Plan>
class PlanCache {
 public:
  std::shared_ptr<const Plan> Find(const PlanKey& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  // Inserts `plan` unless another thread got there first; returns the cached plan.
  std::shared_ptr<const Plan> Insert(const PlanKey& key, std::shared_ptr<const Plan> plan) {
    std::lock_guard<std::mutex> lock(mu_);
    if (map_.size() >= kCapacity) map_.clear();  // shapes keep changing: start over
    auto [it, inserted] = map_.emplace(key, std::move(plan));
    return it->second;
  }

 private:
  static constexpr size_t kCapacity = 64;
  mutable std::mutex mu_;
  std::map<PlanKey, std::shared_ptr<const Plan>> map_;
};

// The calling thread's OpenMP thread count (what oneDNN will use).
int Threads();

}  // namespace anvil::dnnl_util
