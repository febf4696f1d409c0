// The TaskRunner over ORT's intra-op thread pool: tasks go to KernelContext_ParallelFor of the
// kernel call being served, so Anvil uses exactly the threads the session was given (none of its
// own). The caller takes part; ORT hands a task to a pool thread only when one is free.
#pragma once
#include <atomic>
#include <exception>

#include "compute/parallel.h"
#include "ep/ort_api.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ANVIL_TSAN 1  // clang's spelling
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(ANVIL_TSAN)
// ORT's pool hands tasks over through its own (uninstrumented) atomics, which ThreadSanitizer cannot
// see: tell it that posting the tasks happens before they run, and their end before Run returns.
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define ANVIL_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define ANVIL_TSAN_RELEASE(p) __tsan_release(p)
#else
#define ANVIL_TSAN_ACQUIRE(p) ((void)(p))
#define ANVIL_TSAN_RELEASE(p) ((void)(p))
#endif

namespace anvil {

class OrtTaskRunner final : public TaskRunner {
 public:
  OrtTaskRunner(OrtKernelContext* ctx, int threads) : ctx_(ctx), threads_(threads) {}
  int threads() const override { return threads_; }

  void Run(size_t tasks, TaskFn fn, void* data) override {
    if (tasks == 0) return;
    Call call{fn, data, tasks};
    bool done = false;
    if (tasks > 1) {
      // num_batch == tasks: one task per batch; each thread picks its index in Claim.
      ANVIL_TSAN_RELEASE(&call.fn);
      OrtStatus* st = Ort::GetApi().KernelContext_ParallelFor(ctx_, &Trampoline, tasks, tasks, &call);
      ANVIL_TSAN_ACQUIRE(&call.data);
      done = st == nullptr;
      if (st != nullptr) Ort::GetApi().ReleaseStatus(st);  // no pool for this context: run here
    }
    if (!done)
      for (size_t i = 0; i < tasks; ++i) RunTask(call, i);
    // An exception must not unwind through ORT's pool: the first one is rethrown here, on the
    // caller, where the EP's boundary turns it into a status.
    if (call.failed.load()) std::rethrow_exception(call.error);
  }

 private:
  struct Call {
    TaskFn fn;
    void* data;
    size_t tasks;
    const void* caller = &this_thread_marker;
    std::atomic<uint64_t> claimed{0};  // tasks taken so far (by index), when tasks <= 64
    std::atomic<bool> failed{false};
    std::exception_ptr error;
  };

  // Task i of every call is the same part of the work (the same rows of a tensor, kernels and
  // oneDNN split statically by index), so each thread takes the same index call after call: the
  // caller task 0, a pool thread its own index in [1, tasks). The part a node reads then sits in
  // the cache of the core that wrote it, where ORT's first-come order would move about half of
  // every tensor between the cores' caches between nodes (BlazeFace back: its small depthwise
  // convolutions took twice as long at 2 threads as at 1). A thread whose index is taken, or done,
  // takes the first one left, so every index runs exactly once whoever turns up.
  static size_t Claim(Call& c, size_t offered) {
    if (c.tasks > 64) return offered;
    const size_t home = &this_thread_marker == c.caller ? 0 : 1 + PoolThreadIndex() % (c.tasks - 1);
    uint64_t seen = c.claimed.fetch_or(uint64_t{1} << home);
    if ((seen & (uint64_t{1} << home)) == 0) return home;
    for (;;) {
      const size_t free = static_cast<size_t>(__builtin_ctzll(~seen));
      const uint64_t bit = uint64_t{1} << free;
      seen = c.claimed.fetch_or(bit);
      if ((seen & bit) == 0) return free;
    }
  }
  // A small number per pool thread, fixed for its life (threads of every session's pool count).
  static size_t PoolThreadIndex() {
    static std::atomic<size_t> next{0};
    thread_local const size_t index = next.fetch_add(1);
    return index;
  }
  static void Trampoline(void* p, size_t task) noexcept {
    Call& c = *static_cast<Call*>(p);
    ANVIL_TSAN_ACQUIRE(&c.fn);
    RunTask(c, Claim(c, task));
  }
  static void RunTask(Call& c, size_t task) noexcept {
    {
      TaskScope scope;
      try {
        c.fn(c.data, task);
      } catch (...) {
        if (!c.failed.exchange(true)) c.error = std::current_exception();
      }
    }
    ANVIL_TSAN_RELEASE(&c.data);
  }
  static inline thread_local char this_thread_marker = 0;

  OrtKernelContext* ctx_;
  int threads_;
};

// Runs tasks on the calling thread but reports the session's thread count: installed while
// weights are pre-packed (no kernel call, so no pool), so kernels choose the weight layouts their
// multi-threaded Compute will want.
class SerialTaskRunner final : public TaskRunner {
 public:
  explicit SerialTaskRunner(int threads) : threads_(threads) {}
  int threads() const override { return threads_; }
  void Run(size_t tasks, TaskFn fn, void* data) override {
    for (size_t i = 0; i < tasks; ++i) {
      TaskScope scope;
      fn(data, i);
    }
  }

 private:
  int threads_;
};

}  // namespace anvil
