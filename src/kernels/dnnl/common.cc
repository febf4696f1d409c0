#include "kernels/dnnl/common.h"

#include <cstring>

namespace anvil::dnnl_kernels {

Status PackInto(const memory::desc& plain_md, const void* plain, const memory::desc& want_md, PackSink& sink) {
  return dnnl_util::Catch("packing weights", [&]() -> Status {
    const std::vector<uint8_t> enc = dnnl_util::EncodeDesc(want_md);
    void* header = sink.Allocate(enc.size(), dnnl_util::DescIdentity(want_md));
    std::memcpy(header, enc.data(), enc.size());
    const size_t bytes = want_md.get_size();
    void* data = sink.Allocate(bytes);
    std::memset(data, 0, bytes);  // blocked layouts pad; keep the padding deterministic
    dnnl_util::Reorder(plain_md, plain, want_md, data);
    return {};
  });
}

Status ReadPacked(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes,
                  const memory::dims& expected_dims, PackedWeight* out) {
  ANVIL_CHECK(buffers.size() == 2 && sizes.size() == 2, "pre-packed weight has an unexpected buffer layout");
  memory::desc md;
  ANVIL_CHECK(dnnl_util::DecodeDesc(buffers[0], sizes[0], &md), "pre-packed weight has an invalid header");
  ANVIL_CHECK(md.get_dims() == expected_dims, "pre-packed weight has other dimensions than the node expects");
  ANVIL_CHECK(sizes[1] >= md.get_size(), "pre-packed weight buffer is too small");
  out->md = md;
  out->data = buffers[1];
  out->valid = true;
  return {};
}

}  // namespace anvil::dnnl_kernels
