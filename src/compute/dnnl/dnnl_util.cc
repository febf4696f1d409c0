#include "compute/dnnl/dnnl_util.h"

#include <oneapi/dnnl/dnnl_threadpool.hpp>
#include <oneapi/dnnl/dnnl_threadpool_iface.hpp>

#include <cstring>
#include <functional>

#include "compute/parallel.h"

namespace anvil::dnnl_util {

namespace {

constexpr uint64_t kHeaderMagic = 0x324d4c494e56414eull;  // "NAVNILM2"

// The thread count the primitives of the current call are made for (see ScopedPrimitiveThreads).
thread_local int primitive_threads = 1;

// oneDNN's view of Anvil's threads: parallel loops become tasks of the current TaskRunner.
// Stateless apart from thread-locals, so one instance serves every thread and session.
class RunnerThreadpool final : public dnnl::threadpool_interop::threadpool_iface {
 public:
  int get_num_threads() const override { return primitive_threads; }
  bool get_in_parallel() const override { return InTask(); }
  uint64_t get_flags() const override { return 0; }  // synchronous: parallel_for returns when done
  void parallel_for(int n, const std::function<void(int, int)>& fn) override {
    TaskRunner* runner = CurrentRunner();
    if (runner == nullptr || n <= 1) {
      for (int i = 0; i < n; ++i) fn(i, n);
      return;
    }
    struct Job {
      const std::function<void(int, int)>* fn;
      int n;
    } job{&fn, n};
    runner->Run(static_cast<size_t>(n), [](void* data, size_t i) {
      const Job& j = *static_cast<const Job*>(data);
      (*j.fn)(static_cast<int>(i), j.n);
    }, &job);
  }
};

RunnerThreadpool& Threadpool() {
  static RunnerThreadpool pool;
  return pool;
}

}  // namespace

const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

const dnnl::stream& CpuStream() {
  static const dnnl::stream stream = dnnl::threadpool_interop::make_stream(CpuEngine(), &Threadpool());
  return stream;
}

int ThreadsFor(int64_t ops, int64_t min_ops_per_thread) {
  return ThreadsForWork(ops, min_ops_per_thread);
}

int MostThreads() {
  TaskRunner* runner = CurrentRunner();
  return runner ? std::max(runner->threads(), 1) : 1;
}

void ExecuteReorder(const dnnl::reorder& r, const memory& from, const memory& to) {
  const std::array<dnnl_exec_arg_t, 2> args{{{DNNL_ARG_FROM, from.get()}, {DNNL_ARG_TO, to.get()}}};
  Execute(r, args);
}

ScopedPrimitiveThreads::ScopedPrimitiveThreads(int threads) : previous_threads_(primitive_threads) {
  int concurrency = 1;
  dnnl_threadpool_interop_get_max_concurrency(&concurrency);
  previous_concurrency_ = concurrency;
  primitive_threads = std::max(threads, 1);
  dnnl_threadpool_interop_set_max_concurrency(primitive_threads);
}

ScopedPrimitiveThreads::~ScopedPrimitiveThreads() {
  primitive_threads = previous_threads_;
  dnnl_threadpool_interop_set_max_concurrency(previous_concurrency_);
}

void Execute(const dnnl::primitive& prim, const dnnl_exec_arg_t* args, int nargs) {
  dnnl::error::wrap_c_api(dnnl_primitive_execute(prim.get(), CpuStream().get(), nargs, args),
                          "could not execute a primitive");
}

memory Unbound(const memory::desc& md) { return memory(md, CpuEngine(), DNNL_MEMORY_NONE); }

memory::desc RowMajor(const memory::dims& dims) {
  memory::dims strides(dims.size());
  int64_t s = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(dims[i], 1);
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc Strided(const memory::dims& dims, const memory::dims& strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc Any(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

bool WideVectors() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512) == avx512;  // oneDNN's ISA values are supersets of each other's bits
}

std::vector<uint8_t> EncodeDesc(const memory::desc& md) {
  const std::vector<uint8_t> blob = memory::desc(md).get_blob();  // get_blob is not const
  std::vector<uint8_t> out(2 * sizeof(uint64_t) + blob.size());
  const uint64_t header[2] = {kHeaderMagic, blob.size()};
  std::memcpy(out.data(), header, sizeof(header));
  std::memcpy(out.data() + sizeof(header), blob.data(), blob.size());
  return out;
}

std::vector<uint8_t> DescIdentity(const memory::desc& md) {
  // get_blob copies oneDNN's struct whole, padding holes included (they hold whatever the stack
  // had); these are the fields that define the layout, in a fixed order.
  std::vector<int64_t> words;
  auto put = [&](int64_t v) { words.push_back(v); };
  auto put_all = [&](const memory::dims& v) {
    put(static_cast<int64_t>(v.size()));
    for (int64_t x : v) put(x);
  };
  put(static_cast<int64_t>(kHeaderMagic));
  put(md.get_ndims());
  put_all(md.get_dims());
  put(static_cast<int64_t>(md.get_data_type()));
  put_all(md.get_padded_dims());
  put_all(md.get_padded_offsets());
  put(md.get_submemory_offset());
  put(static_cast<int64_t>(md.get_format_kind()));
  if (md.get_format_kind() == memory::format_kind::blocked) {
    put_all(md.get_strides());
    put(md.get_inner_nblks());
    put_all(md.get_inner_blks());
    put_all(md.get_inner_idxs());
  }
  put(static_cast<int64_t>(md.get_size()));
  std::vector<uint8_t> out(words.size() * sizeof(int64_t));
  std::memcpy(out.data(), words.data(), out.size());
  return out;
}

bool DecodeDesc(const void* bytes, size_t size, memory::desc* out) {
  uint64_t header[2];
  if (size < sizeof(header)) return false;
  std::memcpy(header, bytes, sizeof(header));
  if (header[0] != kHeaderMagic || header[1] != size - sizeof(header)) return false;
  const auto* p = static_cast<const uint8_t*>(bytes) + sizeof(header);
  try {
    *out = memory::desc(std::vector<uint8_t>(p, p + header[1]));
  } catch (const dnnl::error&) {
    return false;
  }
  return out->get_data_type() == memory::data_type::f32 && out->get_ndims() > 0;
}

void Reorder(const memory::desc& src_md, const void* src, const memory::desc& dst_md, void* dst) {
  const dnnl::engine& eng = CpuEngine();
  memory s(src_md, eng, const_cast<void*>(src));
  memory d(dst_md, eng, dst);
  const int64_t bytes = static_cast<int64_t>(src_md.get_size());
  ScopedPrimitiveThreads threads(ThreadsFor(bytes / 4));
  ExecuteReorder(dnnl::reorder(dnnl::reorder::primitive_desc(eng, src_md, eng, dst_md)), s, d);
}

}  // namespace anvil::dnnl_util
