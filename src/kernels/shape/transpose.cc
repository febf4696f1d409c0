// Transpose: any rank and perm. The perm is first reduced (size-1 dims dropped, axes that stay
// adjacent merged); then identity -> copy, swapped last two -> blocked 2-D transpose, otherwise a
// strided copy (contiguous runs when the last axis stays last).
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

namespace {

bool IsPermutation(const std::vector<int64_t>& perm) {
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p]) return false;
    seen[p] = true;
  }
  return true;
}

}  // namespace

Status TransposeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto k = std::make_unique<TransposeKernel>();
  k->perm_ = node.Ints("perm", {});
  if (auto perm = node.Ints("perm")) {
    ANVIL_CHECK(IsPermutation(*perm), "perm ", ToString(*perm), " is not a permutation");
  }
  if (auto s = node.InputShape(0)) {
    ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
    ANVIL_CHECK(k->perm_.empty() || k->perm_.size() == s->size(), "perm ", ToString(k->perm_),
                " does not match the input rank ", s->size());
  }
  if (out) *out = std::move(k);
  return {};
}

Status TransposeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int rank = static_cast<int>(x.shape.size());
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(x.shape.size()));
  ANVIL_CHECK(perm_.empty() || static_cast<int>(perm_.size()) == rank, "perm ", ToString(perm_),
              " does not match input ", ToString(x.shape));
  int64_t perm[shape::kMaxRank];
  for (int i = 0; i < rank; ++i) perm[i] = perm_.empty() ? rank - 1 - i : perm_[i];
  Shape out_shape(static_cast<size_t>(rank));
  for (int i = 0; i < rank; ++i) out_shape[i] = x.shape[perm[i]];
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  if (x.size() == 0) return {};
  const size_t es = ElemSize(x.type);

  // Reduce: keep non-1 input axes, renumber them densely, then merge output-order runs p, p+1.
  int64_t rank_of[shape::kMaxRank];  // input axis -> dense index among kept axes (-1: dropped)
  int64_t kept_dims[shape::kMaxRank];
  int kept = 0;
  for (int a = 0; a < rank; ++a) {
    rank_of[a] = x.shape[a] == 1 ? -1 : kept;
    if (x.shape[a] != 1) kept_dims[kept++] = x.shape[a];
  }
  int64_t q[shape::kMaxRank];  // reduced perm: group index (output order) -> first kept input axis
  int64_t group_dim[shape::kMaxRank];
  int groups = 0;
  int64_t prev = -2;
  for (int i = 0; i < rank; ++i) {
    const int64_t a = rank_of[perm[i]];
    if (a < 0) continue;
    if (a == prev + 1 && groups > 0) {
      group_dim[groups - 1] *= kept_dims[a];
    } else {
      q[groups] = a;
      group_dim[groups] = kept_dims[a];
      ++groups;
    }
    prev = a;
  }
  // Renumber groups by input order: rank of q[g] among all q.
  int64_t order[shape::kMaxRank];  // group g's position in input order
  for (int g = 0; g < groups; ++g) {
    order[g] = 0;
    for (int h = 0; h < groups; ++h) order[g] += q[h] < q[g];
  }
  bool identity = true;
  for (int g = 0; g < groups; ++g) identity = identity && order[g] == g;
  if (identity) {
    shape::ParallelCopy(y, x.data, static_cast<size_t>(x.size()) * es);
    return {};
  }
  // Input dims in input order, and their row-major strides.
  int64_t in_dims[shape::kMaxRank], in_strides[shape::kMaxRank];
  for (int g = 0; g < groups; ++g) in_dims[order[g]] = group_dim[g];
  int64_t stride = 1;
  for (int g = groups - 1; g >= 0; --g) in_strides[g] = stride, stride *= in_dims[g];

  bool swap_last_two = groups >= 2 && order[groups - 1] == groups - 2 && order[groups - 2] == groups - 1;
  for (int g = 0; g + 2 < groups && swap_last_two; ++g) swap_last_two = order[g] == g;
  if (swap_last_two) {
    int64_t batch = 1;
    for (int g = 0; g + 2 < groups; ++g) batch *= in_dims[g];
    shape::BatchedTranspose2D(y, x.data, es, batch, in_dims[groups - 2], in_dims[groups - 1]);
    return {};
  }
  int64_t dims[shape::kMaxRank], strides[shape::kMaxRank];
  for (int g = 0; g < groups; ++g) dims[g] = group_dim[g], strides[g] = in_strides[order[g]];
  shape::StridedCopy(y, x.data, es, groups, dims, strides, 0);
  return {};
}

}  // namespace anvil
