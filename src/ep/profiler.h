// Anvil's events in ORT's profile (OrtEp::CreateProfiler, ORT 1.25 and newer).
//
// ORT creates one AnvilProfiler per profiling session: one for session profiling
// (SessionOptions enable_profiling), one per run for run-level profiling (RunOptions
// EnableProfiling). It calls StartEvent / StopEvent around each of its events (a node's kernel
// call among them) on the thread that runs the kernel's Compute, so StartEvent pushes "this
// profiler, this ORT event" on a small thread-local stack and a kernel call that finds the stack
// non-empty records one event into the profiler on top. With profiling off the whole cost is one
// thread-local load and a branch (ProfileScope's constructor): no clock read, no allocation.
//
// A kernel call records through ProfileScope (the kernel adapter does it for every Kernel; a fused
// group's compute function does the same):
//   ProfileScope scope(op_type, node_name, threads);   // reads the clock only when profiling
//   ... run ...
//   if (scope) { scope.Stop(); scope.SetInputShapes(...); scope.SetImpl(...); }
//   // the destructor hands the event to the profiler (Stop is implied if not called)
// Events go to ORT at EndProfiling as category KERNEL, named after the node, with args op_name,
// provider, input_shapes, layout, impl, threads and ort_event (the correlation id of ORT's event).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/shape.h"
#include "ep/ort_api.h"

namespace anvil {

class AnvilProfiler;

namespace profiling {

// How many ORT events are open on this thread (StartEvent without its StopEvent yet), for any
// Anvil profiler: reading it is the whole cost of profiling off. Constant-initialized, so the read
// has no init guard. (Not initial-exec: that would mark the plugin STATIC_TLS, and a process whose
// static TLS surplus is used up could no longer dlopen it.)
inline constinit thread_local int tls_depth = 0;

// Those events, innermost last: the profiler (by id, see Sink) and ORT's correlation id. Deeper
// nesting than kMaxDepth is counted but not recorded (ORT nests three deep: run, executor, node).
struct ThreadFrames {
  static constexpr int kMaxDepth = 16;
  uint64_t profiler[kMaxDepth];
  uint64_t correlation[kMaxDepth];
};
inline constinit thread_local ThreadFrames tls_frames = {};

using Clock = std::chrono::steady_clock;

// One Anvil kernel call as the profile shows it.
struct Event {
  std::string name;          // the node's name
  std::string op_type;
  std::string input_shapes;  // "[[1,3,8,8],[4,3,3,3],null]": JSON text, null for a missing input
  std::string layout;
  std::string impl;
  int threads = 1;
  int32_t thread_id = -1;
  uint64_t correlation = 0;  // ORT's event id (StartEvent)
  Clock::time_point start;
  Clock::duration duration{};
};

// Where a profiler's events collect. A kernel call holds a reference while it records, and finds
// the sink by its profiler's id in a registry of live profilers: a frame whose StopEvent never came
// (ORT left an event open on an error path) and whose profiler ORT has released is then skipped
// and dropped, never followed to freed memory.
struct Sink {
  std::mutex mutex;
  std::vector<Event> events;
  size_t dropped = 0;
};

}  // namespace profiling

// Records one event for the profiler active on this thread, if any.
class ProfileScope {
 public:
  ProfileScope(const std::string& op_type, const std::string& node_name, int threads) {
    if (__builtin_expect(profiling::tls_depth == 0, 1)) return;  // profiling off: one TLS load, one branch
    Begin(op_type, node_name, threads);
  }
  ~ProfileScope() {
    if (sink_ != nullptr) Commit();
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

  // True when this call is being recorded; the setters below are for that case only.
  explicit operator bool() const { return sink_ != nullptr; }
  // Ends the timed span (before the details are gathered, so they are not timed).
  void Stop() {
    if (!stopped_) event_->duration = profiling::Clock::now() - event_->start;
    stopped_ = true;
  }
  void SetImpl(std::string impl) { event_->impl = std::move(impl); }
  void SetThreads(int threads) { event_->threads = threads; }
  void SetLayout(std::string layout) { event_->layout = std::move(layout); }
  // Shapes as JSON text (see Event::input_shapes); a null entry for a missing input.
  void SetInputShapes(const std::vector<const Shape*>& shapes);
  // Where a kernel writes the implementation it chose for this call (ComputeContext::NoteImpl).
  std::string* impl_slot() { return &event_->impl; }
  int* threads_slot() { return &event_->threads; }
  const std::string& impl() const { return event_->impl; }

 private:
  void Begin(const std::string& op_type, const std::string& node_name, int threads);
  void Commit() noexcept;

  std::shared_ptr<profiling::Sink> sink_;  // null: not recording
  bool stopped_ = false;
  std::optional<profiling::Event> event_;  // made only when recording: off costs no construction
};

// OrtEpProfilerImpl: the events of one profiling session (or one profiled run).
class AnvilProfiler : public OrtEpProfilerImpl {
 public:
  AnvilProfiler();
  AnvilProfiler(const AnvilProfiler&) = delete;
  AnvilProfiler& operator=(const AnvilProfiler&) = delete;

  ~AnvilProfiler();

  // Events kept per profiling session; past this many the rest are dropped (ORT keeps 1M of its own).
  static constexpr size_t kMaxEvents = size_t{1} << 20;
  // Appends an event to a sink (any thread; concurrent runs share a session's profiler).
  static void Add(profiling::Sink& sink, profiling::Event event);
  // The sink of the innermost live profiler open on this thread (dropping frames of released
  // ones), and that frame's correlation id; null when there is none.
  static std::shared_ptr<profiling::Sink> Current(uint64_t* correlation);

 private:
  static void ORT_API_CALL ReleaseImpl(OrtEpProfilerImpl* self) noexcept;
  static OrtStatus* ORT_API_CALL StartProfilingImpl(OrtEpProfilerImpl* self, int64_t start_offset_ns) noexcept;
  static OrtStatus* ORT_API_CALL StartEventImpl(OrtEpProfilerImpl* self, uint64_t correlation) noexcept;
  static OrtStatus* ORT_API_CALL StopEventImpl(OrtEpProfilerImpl* self, uint64_t correlation,
                                               const OrtProfilingEvent* ort_event) noexcept;
  static OrtStatus* ORT_API_CALL EndProfilingImpl(OrtEpProfilerImpl* self,
                                                  OrtProfilingEventsContainer* container) noexcept;
  OrtStatus* Flush(OrtProfilingEventsContainer* container);
  int64_t RelativeUs(profiling::Clock::time_point t) const;

  const uint64_t id_;
  const std::shared_ptr<profiling::Sink> sink_ = std::make_shared<profiling::Sink>();
  int64_t start_offset_ns_ = 0;             // ORT's clock: its profiling start to StartProfiling
  profiling::Clock::time_point start_{};    // Anvil's clock at StartProfiling
};

// The OrtEp::CreateProfiler callback.
OrtStatus* ORT_API_CALL CreateAnvilProfiler(OrtEp* ep, OrtEpProfilerImpl** out) noexcept;

}  // namespace anvil
