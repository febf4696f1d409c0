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
    Call call{fn, data};
    bool done = false;
    if (tasks > 1) {
      // num_batch == tasks: one task per batch, spread over whichever pool threads are free.
      ANVIL_TSAN_RELEASE(&call.fn);
      OrtStatus* st = Ort::GetApi().KernelContext_ParallelFor(ctx_, &Trampoline, tasks, tasks, &call);
      ANVIL_TSAN_ACQUIRE(&call.data);
      done = st == nullptr;
      if (st != nullptr) Ort::GetApi().ReleaseStatus(st);  // no pool for this context: run here
    }
    if (!done)
      for (size_t i = 0; i < tasks; ++i) Trampoline(&call, i);
    // An exception must not unwind through ORT's pool: the first one is rethrown here, on the
    // caller, where the EP's boundary turns it into a status.
    if (call.failed.load()) std::rethrow_exception(call.error);
  }

 private:
  struct Call {
    TaskFn fn;
    void* data;
    std::atomic<bool> failed{false};
    std::exception_ptr error;
  };
  static void Trampoline(void* p, size_t task) noexcept {
    Call& c = *static_cast<Call*>(p);
    ANVIL_TSAN_ACQUIRE(&c.fn);
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
