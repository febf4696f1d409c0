// Anvil's one threading runtime: OpenMP, the runtime oneDNN is built on (Debian's libdnnl uses
// GNU OpenMP). Kernels never start threads; they describe a range and ParallelFor splits it.
#pragma once
#include <cstdint>

namespace anvil {

// Sets the OpenMP thread count for the calling thread (oneDNN reads it too). Called by the EP
// before each kernel runs, so concurrent Run calls on different threads do not interfere.
void SetThreadCount(int threads);
int ThreadCount();

// Work below this many operations runs on one thread: a fork/join of the OpenMP team costs more.
constexpr int64_t kMinParallelOps = int64_t{1} << 21;

// Sets the calling thread's OpenMP thread count for a scope (1 if `ops` is below
// kMinParallelOps), restoring it afterwards. For library calls (oneDNN) that parallelise by
// themselves over the whole team.
class ScopedThreadsForWork {
 public:
  explicit ScopedThreadsForWork(int64_t ops);
  ~ScopedThreadsForWork();
  ScopedThreadsForWork(const ScopedThreadsForWork&) = delete;
  ScopedThreadsForWork& operator=(const ScopedThreadsForWork&) = delete;

 private:
  int previous_;
};

// Calls fn(begin, end) on contiguous chunks of [0, n), in parallel when the work is large enough.
// `cost_per_item` is a rough count of operations per item, used to avoid threading tiny loops.
template <typename Fn>
void ParallelFor(int64_t n, int64_t cost_per_item, Fn&& fn);

}  // namespace anvil

#include <omp.h>

#include <algorithm>

namespace anvil {

inline void SetThreadCount(int threads) { omp_set_num_threads(threads > 0 ? threads : 1); }
inline int ThreadCount() { return omp_get_max_threads(); }

inline ScopedThreadsForWork::ScopedThreadsForWork(int64_t ops) : previous_(ThreadCount()) {
  if (ops < kMinParallelOps && previous_ > 1) SetThreadCount(1);
}
inline ScopedThreadsForWork::~ScopedThreadsForWork() { SetThreadCount(previous_); }

template <typename Fn>
void ParallelFor(int64_t n, int64_t cost_per_item, Fn&& fn) {
  if (n <= 0) return;
  constexpr int64_t kMinWorkPerThread = 1 << 15;  // below this, a fork/join costs more than it saves
  const int64_t max_threads = ThreadCount();
  int64_t threads = std::min<int64_t>(max_threads, (n * std::max<int64_t>(cost_per_item, 1)) / kMinWorkPerThread);
  threads = std::clamp<int64_t>(threads, 1, n);
  if (threads == 1) {
    fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    const int64_t t = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t begin = std::min(n, t * chunk);
    const int64_t end = std::min(n, begin + chunk);
    if (begin < end) fn(begin, end);
  }
}

}  // namespace anvil
