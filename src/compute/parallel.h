// Anvil's threading seam. The compute layer never starts threads: it describes work as `n` tasks
// and hands them to the TaskRunner installed for the current kernel call. The EP installs one over
// ORT's intra-op thread pool (KernelContext_ParallelFor, src/ep/task_runner.h) for the duration of
// each Compute, so Anvil's kernels and oneDNN's primitives run on the session's own pool, sized by
// the user's intra_op_num_threads. With no runner installed, or inside a task, everything runs on
// the calling thread (no nesting).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace anvil {

class TaskRunner {
 public:
  using TaskFn = void (*)(void* data, size_t task);
  // How many threads work is split for (the caller included).
  virtual int threads() const = 0;
  // Calls fn(data, i) for every i in [0, tasks), possibly in parallel; returns when all are done.
  // Implementations wrap each task in TaskScope.
  virtual void Run(size_t tasks, TaskFn fn, void* data) = 0;

 protected:
  ~TaskRunner() = default;
};

namespace parallel_detail {
inline thread_local TaskRunner* current_runner = nullptr;
inline thread_local int task_depth = 0;
}  // namespace parallel_detail

// The runner for work started on this thread now: nullptr outside a kernel call and inside a task.
inline TaskRunner* CurrentRunner() { return parallel_detail::task_depth > 0 ? nullptr : parallel_detail::current_runner; }
// True while this thread runs a task (of any runner).
inline bool InTask() { return parallel_detail::task_depth > 0; }

// Installs `runner` for the calling thread for one scope (the EP does this around Compute).
class ScopedTaskRunner {
 public:
  explicit ScopedTaskRunner(TaskRunner* runner) : previous_(parallel_detail::current_runner) {
    parallel_detail::current_runner = runner;
  }
  ~ScopedTaskRunner() { parallel_detail::current_runner = previous_; }
  ScopedTaskRunner(const ScopedTaskRunner&) = delete;
  ScopedTaskRunner& operator=(const ScopedTaskRunner&) = delete;

 private:
  TaskRunner* previous_;
};

// Marks the calling thread as running a task, so work it starts does not nest into the pool.
class TaskScope {
 public:
  TaskScope() { ++parallel_detail::task_depth; }
  ~TaskScope() { --parallel_detail::task_depth; }
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
};

// The cost model: work below kMinOpsPerThread operations (about an element-operation each) per
// extra thread stays on the calling thread. A hand-off to a pool thread costs a few microseconds,
// and a pool thread that is descheduled while it holds a task stalls the whole call for a time
// slice: with one core busy elsewhere (bench/bench_models.py --busy-core) 2^15 made BlazeFace
// front 3.9x ORT's time, 2^17 1.3x, at no cost on an idle machine. ORT's own cost model asks
// similar work (~100k cycles) of each extra thread.
constexpr int64_t kMinOpsPerThread = int64_t{1} << 17;

// How many threads `ops` operations are worth on the current runner (1 without one), at
// `min_ops_per_thread` operations for each extra thread.
inline int ThreadsForWork(int64_t ops, int64_t min_ops_per_thread = kMinOpsPerThread) {
  TaskRunner* runner = CurrentRunner();
  if (runner == nullptr) return 1;
  const int64_t useful = std::max<int64_t>(ops / min_ops_per_thread, 1);
  return static_cast<int>(std::clamp<int64_t>(useful, 1, std::max(runner->threads(), 1)));
}

// Calls fn(begin, end) on contiguous chunks of [0, n), in parallel when the work is large enough.
// `cost_per_item` is a rough count of operations per item, for the cost model.
template <typename Fn>
void ParallelFor(int64_t n, int64_t cost_per_item, Fn&& fn) {
  if (n <= 0) return;
  const int64_t threads = std::min<int64_t>(ThreadsForWork(n * std::max<int64_t>(cost_per_item, 1)), n);
  if (threads <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  struct Job {
    Fn* fn;
    int64_t n, tasks;
  } job{&fn, n, threads};
  CurrentRunner()->Run(static_cast<size_t>(threads), [](void* data, size_t task) {
    const Job& j = *static_cast<const Job*>(data);
    const int64_t t = static_cast<int64_t>(task);
    const int64_t begin = j.n * t / j.tasks, end = j.n * (t + 1) / j.tasks;
    if (begin < end) (*j.fn)(begin, end);
  }, &job);
}

}  // namespace anvil
