#include "kernels/dnnl/common.h"

#include <cstring>

namespace anvil::dnnl_kernels {

Status PackInto(const memory::desc& plain_md, const void* plain, const memory::desc& want_md, PackSink& sink) {
  dnnl_util::EncodedDesc enc;
  ANVIL_CHECK(dnnl_util::EncodeDesc(want_md, &enc), "weight layout cannot be encoded");
  return dnnl_util::Catch("packing weights", [&]() -> Status {
    void* header = sink.Allocate(sizeof(enc));
    std::memcpy(header, &enc, sizeof(enc));
    const size_t bytes = want_md.get_size();
    void* data = sink.Allocate(bytes);
    std::memset(data, 0, bytes);  // blocked layouts pad; keep the padding deterministic
    dnnl_util::Reorder(plain_md, plain, want_md, data);
    return {};
  });
}

Status ReadPacked(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes,
                  const memory::dims& expected_dims, PackedWeight* out) {
  ANVIL_CHECK(buffers.size() == 2 && sizes.size() == 2 && sizes[0] == sizeof(dnnl_util::EncodedDesc),
              "pre-packed weight has an unexpected buffer layout");
  dnnl_util::EncodedDesc enc;
  std::memcpy(&enc, buffers[0], sizeof(enc));
  memory::desc md;
  ANVIL_CHECK(dnnl_util::DecodeDesc(enc, &md), "pre-packed weight has an invalid header");
  ANVIL_CHECK(md.dims() == expected_dims, "pre-packed weight has other dimensions than the node expects");
  ANVIL_CHECK(sizes[1] >= md.get_size(), "pre-packed weight buffer is too small");
  out->md = md;
  out->data = buffers[1];
  out->valid = true;
  return {};
}

}  // namespace anvil::dnnl_kernels
