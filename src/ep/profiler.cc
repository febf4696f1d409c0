#include "ep/profiler.h"

#include <anvil/anvil.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "ep/boundary.h"

namespace anvil {

namespace {

int32_t ThisThreadId() {
  static thread_local const int32_t id = static_cast<int32_t>(syscall(SYS_gettid));
  return id;
}

// The live profilers by id (ids are never reused, unlike addresses). Never destroyed: a thread may
// still look something up while the process exits.
struct Registry {
  std::mutex mutex;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::weak_ptr<profiling::Sink>> live;
};
Registry& TheRegistry() {
  static Registry* r = new Registry();
  return *r;
}

}  // namespace

// ---- ProfileScope ---------------------------------------------------------------------------

void ProfileScope::Begin(const std::string& op_type, const std::string& node_name, int threads) {
  uint64_t correlation = 0;
  std::shared_ptr<profiling::Sink> sink = AnvilProfiler::Current(&correlation);
  if (sink == nullptr) return;
  try {
    profiling::Event& e = event_.emplace();
    e.name = node_name;
    e.op_type = op_type;
    e.layout = "NCHW";  // the kernel sets NHWC for its channels-last nodes (SetLayout)
    e.threads = threads;
    e.thread_id = ThisThreadId();
    e.correlation = correlation;
  } catch (...) {
    event_.reset();
    return;  // out of memory: this call goes unrecorded
  }
  sink_ = std::move(sink);
  event_->start = profiling::Clock::now();
}

void ProfileScope::SetInputShapes(const std::vector<const Shape*>& shapes) {
  std::string s = "[";
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (i) s += ",";
    if (shapes[i] == nullptr) {
      s += "null";
      continue;
    }
    s += "[";
    for (size_t d = 0; d < shapes[i]->size(); ++d) {
      if (d) s += ",";
      s += std::to_string((*shapes[i])[d]);
    }
    s += "]";
  }
  event_->input_shapes = s + "]";
}

void ProfileScope::Commit() noexcept {
  Stop();
  try {
    AnvilProfiler::Add(*sink_, std::move(*event_));
  } catch (...) {
    // out of memory: the event is lost, the run goes on
  }
  sink_.reset();
}

// ---- AnvilProfiler --------------------------------------------------------------------------

AnvilProfiler::AnvilProfiler()
    : OrtEpProfilerImpl{}, id_([] {
        Registry& r = TheRegistry();
        std::lock_guard<std::mutex> lock(r.mutex);
        return r.next_id++;
      }()) {
  ort_version_supported = ORT_API_VERSION;
  Release = ReleaseImpl;
  StartProfiling = StartProfilingImpl;
  StartEvent = StartEventImpl;
  StopEvent = StopEventImpl;
  EndProfiling = EndProfilingImpl;
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.live.emplace(id_, sink_);
}

AnvilProfiler::~AnvilProfiler() {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.live.erase(id_);
}

void AnvilProfiler::Add(profiling::Sink& sink, profiling::Event event) {
  std::lock_guard<std::mutex> lock(sink.mutex);
  if (sink.events.size() >= kMaxEvents) {
    ++sink.dropped;
    return;
  }
  sink.events.push_back(std::move(event));
}

namespace {

// Drops the frames of released profilers (events ORT left open) from this thread's stack; frames
// past kMaxDepth were never stored and stay counted. The caller holds the registry's mutex.
void DropReleasedFrames(const Registry& r) {
  constexpr int kMax = profiling::ThreadFrames::kMaxDepth;
  const int depth = profiling::tls_depth, stored = std::min(depth, kMax);
  profiling::ThreadFrames& f = profiling::tls_frames;
  int kept = 0;
  for (int i = 0; i < stored; ++i) {
    auto it = r.live.find(f.profiler[i]);
    if (it == r.live.end() || it->second.expired()) continue;
    f.profiler[kept] = f.profiler[i];
    f.correlation[kept] = f.correlation[i];
    ++kept;
  }
  profiling::tls_depth = kept + (depth - stored);
}

}  // namespace

std::shared_ptr<profiling::Sink> AnvilProfiler::Current(uint64_t* correlation) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (profiling::tls_depth > profiling::ThreadFrames::kMaxDepth) DropReleasedFrames(r);
  int depth = profiling::tls_depth;
  if (depth > profiling::ThreadFrames::kMaxDepth) return nullptr;  // nested past what the stack keeps
  const profiling::ThreadFrames& f = profiling::tls_frames;
  for (; depth > 0; --depth) {
    auto it = r.live.find(f.profiler[depth - 1]);
    if (it == r.live.end()) continue;  // released with this event still open: drop the frame
    std::shared_ptr<profiling::Sink> sink = it->second.lock();
    if (sink == nullptr) continue;
    profiling::tls_depth = depth;
    *correlation = f.correlation[depth - 1];
    return sink;
  }
  profiling::tls_depth = 0;
  return nullptr;
}

void ORT_API_CALL AnvilProfiler::ReleaseImpl(OrtEpProfilerImpl* self) noexcept {
  delete static_cast<AnvilProfiler*>(self);
}

OrtStatus* ORT_API_CALL AnvilProfiler::StartProfilingImpl(OrtEpProfilerImpl* self, int64_t start_offset_ns) noexcept {
  auto* p = static_cast<AnvilProfiler*>(self);
  std::lock_guard<std::mutex> lock(p->sink_->mutex);
  p->start_offset_ns_ = start_offset_ns;
  p->start_ = profiling::Clock::now();
  p->sink_->events.clear();
  p->sink_->dropped = 0;
  return nullptr;
}

// ORT calls StartEvent and StopEvent on the thread that runs the kernel (the header's threading
// note), in nested pairs: a stack per thread.
OrtStatus* ORT_API_CALL AnvilProfiler::StartEventImpl(OrtEpProfilerImpl* self, uint64_t correlation) noexcept {
  if (profiling::tls_depth >= profiling::ThreadFrames::kMaxDepth) {  // full: make room if ORT left events open
    Registry& r = TheRegistry();
    std::lock_guard<std::mutex> lock(r.mutex);
    DropReleasedFrames(r);
  }
  const int depth = profiling::tls_depth;
  if (depth < profiling::ThreadFrames::kMaxDepth) {
    profiling::tls_frames.profiler[depth] = static_cast<AnvilProfiler*>(self)->id_;
    profiling::tls_frames.correlation[depth] = correlation;
  }
  profiling::tls_depth = depth + 1;
  return nullptr;
}

OrtStatus* ORT_API_CALL AnvilProfiler::StopEventImpl(OrtEpProfilerImpl* self, uint64_t correlation,
                                                     const OrtProfilingEvent*) noexcept {
  int depth = profiling::tls_depth;
  if (depth == 0) return nullptr;  // unpaired: nothing of ours is open
  if (depth > profiling::ThreadFrames::kMaxDepth) {
    profiling::tls_depth = depth - 1;
    return nullptr;
  }
  // Normally the top; if ORT closed events out of order, remove the matching frame where it is.
  profiling::ThreadFrames& f = profiling::tls_frames;
  int at = depth - 1;
  const uint64_t id = static_cast<AnvilProfiler*>(self)->id_;
  while (at >= 0 && !(f.profiler[at] == id && f.correlation[at] == correlation)) --at;
  if (at < 0) return nullptr;
  for (int i = at; i + 1 < depth; ++i) {
    f.profiler[i] = f.profiler[i + 1];
    f.correlation[i] = f.correlation[i + 1];
  }
  profiling::tls_depth = depth - 1;
  return nullptr;
}

int64_t AnvilProfiler::RelativeUs(profiling::Clock::time_point t) const {
  const int64_t since_start = std::chrono::duration_cast<std::chrono::nanoseconds>(t - start_).count();
  return (start_offset_ns_ + since_start) / 1000;
}

OrtStatus* AnvilProfiler::Flush(OrtProfilingEventsContainer* container) {
  std::vector<profiling::Event> events;
  {
    std::lock_guard<std::mutex> lock(sink_->mutex);
    events.swap(sink_->events);  // EndProfiling reports the events since StartProfiling, once
    sink_->dropped = 0;
  }
  if (events.empty()) return nullptr;
  const OrtEpApi& ep_api = Ort::GetEpApi();
  std::vector<OrtProfilingEvent*> made;
  made.reserve(events.size());
  struct ReleaseAll {
    const OrtEpApi& api;
    std::vector<OrtProfilingEvent*>& made;
    ~ReleaseAll() {
      for (OrtProfilingEvent* e : made) api.ReleaseProfilingEvent(e);
    }
  } release{ep_api, made};
  const int32_t pid = static_cast<int32_t>(getpid());
  const char* keys[] = {"op_name", "provider", "input_shapes", "layout", "impl", "threads", "ort_event"};
  for (const profiling::Event& e : events) {
    const std::string threads = std::to_string(e.threads), correlation = std::to_string(e.correlation);
    const char* values[] = {e.op_type.c_str(), ANVIL_EP_NAME, e.input_shapes.c_str(), e.layout.c_str(),
                            e.impl.c_str(), threads.c_str(), correlation.c_str()};
    const int64_t duration_us = std::chrono::duration_cast<std::chrono::microseconds>(e.duration).count();
    OrtProfilingEvent* made_one = nullptr;
    if (OrtStatus* st = ep_api.CreateProfilingEvent(OrtProfilingEventCategory_KERNEL, pid, e.thread_id,
                                                    e.name.c_str(), RelativeUs(e.start), duration_us, keys, values,
                                                    std::size(keys), &made_one))
      return st;
    made.push_back(made_one);
  }
  return ep_api.ProfilingEventsContainer_AddEvents(container, made.data(), made.size());
}

OrtStatus* ORT_API_CALL AnvilProfiler::EndProfilingImpl(OrtEpProfilerImpl* self,
                                                        OrtProfilingEventsContainer* container) noexcept {
  auto* p = static_cast<AnvilProfiler*>(self);
  return Guard("EndProfiling", [&]() -> OrtStatus* { return p->Flush(container); });
}

OrtStatus* ORT_API_CALL CreateAnvilProfiler(OrtEp*, OrtEpProfilerImpl** out) noexcept {
  *out = nullptr;
  return Guard("CreateProfiler", [&]() -> OrtStatus* {
    *out = new AnvilProfiler();
    return nullptr;
  });
}

}  // namespace anvil
