// oneDNN (3.x, THREADPOOL runtime) as Anvil uses it: the process's CPU engine and stream, whose
// threadpool is the TaskRunner of the current kernel call (compute/parallel.h); primitive
// execution without per-call allocation on Anvil's side; exception-to-Status conversion; memory
// descriptors; the self-describing header of pre-packed weights; and a pool of plans keyed by
// shape, each plan used by one Compute at a time. No ORT headers here.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "core/shape.h"
#include "core/status.h"

namespace anvil::dnnl_util {

using dnnl::memory;

// The one CPU engine of the process, created on first use. Throws dnnl::error if oneDNN cannot
// create it; call under Catch.
const dnnl::engine& CpuEngine();
// The stream every primitive runs on. Its threadpool hands oneDNN's parallel loops to the
// current kernel call's TaskRunner (ORT's intra-op pool); outside a kernel call, or inside a
// task, oneDNN runs on the calling thread.
const dnnl::stream& CpuStream();

// How many threads oneDNN should split one primitive for, for `ops` operations: the cost model
// of compute/parallel.h. A primitive is created and executed with the same count
// (ScopedPrimitiveThreads), since oneDNN fixes its work split when the primitive is created.
// A oneDNN primitive splits its work statically: below ~2 MFLOP per extra thread the fork/join
// on ORT's pool (and the risk of waiting for a descheduled thread) costs more than it saves.
constexpr int64_t kMinOpsPerPrimitiveThread = int64_t{1} << 21;
// Convolutions split by output rows and channels, and each pool thread takes the same part call
// after call (ep/task_runner.h), so the rows a convolution reads were written by the same core:
// a quarter of the matmul threshold pays (BlazeFace back at 2 threads 2.58 vs 3.15 ms; PaddleOCR
// cls, whose small element-wise ops then read half a split output from the other core, 0.49 vs
// 0.45 ms; 2^18 split more and cost cls more).
constexpr int64_t kMinOpsPerConvThread = int64_t{1} << 19;
int ThreadsFor(int64_t ops, int64_t min_ops_per_thread = kMinOpsPerPrimitiveThread);
// The most threads the current runner splits work for: what a primitive made now (for a weight
// layout, while pre-packing) should assume its large Compute will use.
int MostThreads();

// Sets the thread count oneDNN sees on this thread, for primitive creation and execution.
class ScopedPrimitiveThreads {
 public:
  explicit ScopedPrimitiveThreads(int threads);
  ~ScopedPrimitiveThreads();
  ScopedPrimitiveThreads(const ScopedPrimitiveThreads&) = delete;
  ScopedPrimitiveThreads& operator=(const ScopedPrimitiveThreads&) = delete;

 private:
  int previous_threads_;
  int previous_concurrency_;
};

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

// Executes `prim` on CpuStream() with `args` (pointers into a plan's memory objects). Throws
// dnnl::error. Builds no containers: the only allocations are oneDNN's own.
void Execute(const dnnl::primitive& prim, const dnnl_exec_arg_t* args, int nargs);
template <size_t N>
void Execute(const dnnl::primitive& prim, const std::array<dnnl_exec_arg_t, N>& args, int nargs = N) {
  Execute(prim, args.data(), nargs);
}

// Executes a reorder primitive from one memory object to another. Throws dnnl::error.
void ExecuteReorder(const dnnl::reorder& r, const memory& from, const memory& to);

// A memory object with no data yet (handle set per call).
memory Unbound(const memory::desc& md);

inline memory::dims ToDims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// Dense row-major f32 descriptor (nchw, oihw, ab, ... for the given rank).
memory::desc RowMajor(const memory::dims& dims);
// f32 descriptor with explicit strides (in elements).
memory::desc Strided(const memory::dims& dims, const memory::dims& strides);
// f32 descriptor with format_tag::any, for letting a primitive choose.
memory::desc Any(const memory::dims& dims);

// Picks an implementation: oneDNN's first choice, or the first whose impl_info_str starts with
// `prefix` (null: keep oneDNN's). Any oneDNN primitive descriptor. A copy of a descriptor shares
// its iterator (next_impl moves both), so oneDNN's choice is kept as a clone for when none matches.
template <typename PD>
void PreferImpl(PD& pd, const char* prefix) {
  if (!prefix) return;
  const size_t length = std::strlen(prefix);
  auto matches = [&] { return std::strncmp(pd.impl_info_str(), prefix, length) == 0; };
  if (matches()) return;
  PD original(pd.get());  // from a C descriptor: a clone (owned by `original`)
  while (pd.next_impl())
    if (matches()) return;
  pd = original;
}
// True if this CPU runs oneDNN's 16-lane (AVX-512) kernels.
bool WideVectors();

// A pre-packed weight's header: oneDNN's own serialisation of the layout (memory::desc blob),
// framed with a magic and a length, so the packed bytes describe their layout and depend only on
// the weight's value and that layout.
// Canonical bytes for a descriptor (what EncodeDesc's bytes stand for), for comparing packed weights.
std::vector<uint8_t> DescIdentity(const memory::desc& md);
std::vector<uint8_t> EncodeDesc(const memory::desc& md);
// False if `bytes` is not a valid header.
bool DecodeDesc(const void* bytes, size_t size, memory::desc* out);

// Copies/relayouts `src` (layout src_md) into `dst` (layout dst_md), on the calling thread's
// runner if any. Throws dnnl::error.
void Reorder(const memory::desc& src_md, const void* src, const memory::desc& dst_md, void* dst);

// Key of a plan pool: shapes and scalars, no heap allocation.
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

// Plans (primitives, descriptors and memory objects) per key. A Compute leases a plan for its
// call, so it may rebind the plan's memory objects to this call's buffers; concurrent calls with
// the same key get separate plans. In the steady state a lease takes a mutex and allocates nothing.
template <typename Plan>
class PlanPool {
 public:
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), key_(o.key_), plan_(std::move(o.plan_)) {}
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        Reset();
        pool_ = std::exchange(o.pool_, nullptr);
        key_ = o.key_;
        plan_ = std::move(o.plan_);
      }
      return *this;
    }
    ~Lease() { Reset(); }
    Plan* operator->() const { return plan_.get(); }
    Plan& operator*() const { return *plan_; }

   private:
    friend class PlanPool;
    void Reset() {
      if (pool_ && plan_) pool_->Return(key_, std::move(plan_));
      pool_ = nullptr;
    }
    Lease(PlanPool* pool, const PlanKey& key, std::unique_ptr<Plan> plan)
        : pool_(pool), key_(key), plan_(std::move(plan)) {}
    PlanPool* pool_ = nullptr;
    PlanKey key_;
    std::unique_ptr<Plan> plan_;
  };

  // A free plan for `key`, or a new one made by build(Plan*) -> Status.
  template <typename Build>
  Status Acquire(const PlanKey& key, Build&& build, Lease* out) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(key);
      if (it != free_.end() && !it->second.empty()) {
        std::unique_ptr<Plan> plan = std::move(it->second.back());
        it->second.pop_back();
        *out = Lease(this, key, std::move(plan));
        return {};
      }
    }
    auto plan = std::make_unique<Plan>();
    ANVIL_RETURN_IF_ERROR(build(plan.get()));
    *out = Lease(this, key, std::move(plan));
    return {};
  }

 private:
  void Return(const PlanKey& key, std::unique_ptr<Plan> plan) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    try {
      auto it = free_.find(key);
      if (it == free_.end()) {
        if (free_.size() >= kMaxKeys) free_.clear();  // shapes keep changing: start over
        it = free_.emplace(key, std::vector<std::unique_ptr<Plan>>()).first;
        it->second.reserve(2);
      }
      it->second.push_back(std::move(plan));
    } catch (...) {
      // out of memory: the plan is dropped and rebuilt when next needed
    }
  }

  static constexpr size_t kMaxKeys = 32;
  std::mutex mu_;
  std::map<PlanKey, std::vector<std::unique_ptr<Plan>>> free_;
};

}  // namespace anvil::dnnl_util
