#include "compute/dnnl/dnnl_util.h"

#include <omp.h>

#include <cstring>

namespace anvil::dnnl_util {

namespace {
constexpr int64_t kEncodedMagic = 0x414e56494c4d4431;  // "ANVILMD1"
}

const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

int Threads() { return omp_get_max_threads(); }

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

bool EncodeDesc(const memory::desc& md, EncodedDesc* out) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked || d.extra.flags != 0 || d.ndims <= 0 || d.ndims > DNNL_MAX_NDIMS) return false;
  std::memset(out, 0, sizeof(*out));
  out->magic = kEncodedMagic;
  out->ndims = d.ndims;
  out->data_type = d.data_type;
  out->offset0 = d.offset0;
  out->inner_nblks = d.format_desc.blocking.inner_nblks;
  for (int i = 0; i < DNNL_MAX_NDIMS; ++i) {
    out->dims[i] = d.dims[i];
    out->padded_dims[i] = d.padded_dims[i];
    out->padded_offsets[i] = d.padded_offsets[i];
    out->strides[i] = d.format_desc.blocking.strides[i];
    out->inner_blks[i] = d.format_desc.blocking.inner_blks[i];
    out->inner_idxs[i] = d.format_desc.blocking.inner_idxs[i];
  }
  return true;
}

bool DecodeDesc(const EncodedDesc& enc, memory::desc* out) {
  if (enc.magic != kEncodedMagic || enc.ndims <= 0 || enc.ndims > DNNL_MAX_NDIMS || enc.inner_nblks < 0 ||
      enc.inner_nblks > DNNL_MAX_NDIMS || enc.data_type != dnnl_f32)
    return false;
  dnnl_memory_desc_t d;
  std::memset(&d, 0, sizeof(d));
  d.ndims = static_cast<int>(enc.ndims);
  d.data_type = static_cast<dnnl_data_type_t>(enc.data_type);
  d.offset0 = enc.offset0;
  d.format_kind = dnnl_blocked;
  d.format_desc.blocking.inner_nblks = static_cast<int>(enc.inner_nblks);
  for (int i = 0; i < DNNL_MAX_NDIMS; ++i) {
    d.dims[i] = enc.dims[i];
    d.padded_dims[i] = enc.padded_dims[i];
    d.padded_offsets[i] = enc.padded_offsets[i];
    d.format_desc.blocking.strides[i] = enc.strides[i];
    d.format_desc.blocking.inner_blks[i] = enc.inner_blks[i];
    d.format_desc.blocking.inner_idxs[i] = enc.inner_idxs[i];
  }
  for (int i = 0; i < d.ndims; ++i) {
    if (d.dims[i] <= 0 || d.padded_dims[i] < d.dims[i]) return false;
  }
  *out = memory::desc(d);
  return true;
}

void Reorder(const memory::desc& src_md, const void* src, const memory::desc& dst_md, void* dst) {
  const dnnl::engine& eng = CpuEngine();
  memory s(src_md, eng, const_cast<void*>(src));
  memory d(dst_md, eng, dst);
  dnnl::stream stream(eng);
  dnnl::reorder(s, d).execute(stream, s, d);
  stream.wait();
}

}  // namespace anvil::dnnl_util
