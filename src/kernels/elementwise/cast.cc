// Cast between float, double, float16, bfloat16, the 8/16/32/64-bit integers and bool. float16 and
// bfloat16 go through float: float -> half rounds to nearest even (overflow to Inf, NaN stays NaN,
// subnormals kept); double -> half rounds to float first, like ORT's CPU EP.
#include <cstring>
#include <type_traits>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/half.h"
#include "compute/elementwise/math.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

bool Castable(ElemType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
      return true;
    default:
      return false;
  }
}

// Tags for the element types without a C++ arithmetic type; Storage<T> is what the tensor holds.
// Bool tensors are bytes holding 0 or 1; they are read and written as uint8 so that a stray byte
// value is never loaded as a C++ bool.
struct Bool {};
struct Half {};
struct BHalf {};
template <typename T> struct StorageOf { using type = T; };
template <> struct StorageOf<Bool> { using type = uint8_t; };
template <> struct StorageOf<Half> { using type = uint16_t; };
template <> struct StorageOf<BHalf> { using type = uint16_t; };
template <typename T> using Storage = typename StorageOf<T>::type;
template <typename T> constexpr bool kIs16BitFloat = std::is_same_v<T, Half> || std::is_same_v<T, BHalf>;

template <typename To, typename From>
inline To Convert(From v) {
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if constexpr (sizeof(To) == 8 || (sizeof(To) == 4 && std::is_unsigned_v<To>)) {
      if constexpr (std::is_unsigned_v<To>) {
        return static_cast<To>(ew::FloatToInt<int64_t>(v));
      } else {
        return ew::FloatToInt<int64_t>(v);
      }
    } else {
      return static_cast<To>(ew::FloatToInt<int32_t>(v));  // narrower types wrap, like numpy on x86
    }
  } else {
    return static_cast<To>(v);
  }
}

// One element: From's storage value -> To's storage value.
template <typename To, typename From>
inline Storage<To> ConvertOne(Storage<From> v) {
  if constexpr (std::is_same_v<From, Half>) {
    return ConvertOne<To, float>(ew::HalfToFloat(v));
  } else if constexpr (std::is_same_v<From, BHalf>) {
    return ConvertOne<To, float>(ew::BFloat16ToFloat(v));
  } else if constexpr (std::is_same_v<From, Bool>) {
    return ConvertOne<To, uint8_t>(v);  // 0/1 converts exactly to every type
  } else if constexpr (std::is_same_v<To, Bool>) {
    return static_cast<uint8_t>(v != From(0));
  } else if constexpr (std::is_same_v<To, Half>) {
    return ew::FloatToHalf(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, BHalf>) {
    return ew::FloatToBFloat16(static_cast<float>(v));
  } else {
    return Convert<To>(v);
  }
}

template <typename From, typename To>
void CastLoop(const void* src, void* dst, int64_t n) {
  using S = Storage<From>;
  using D = Storage<To>;
  if constexpr (std::is_same_v<From, To>) {
    // Same type: a copy (split like everything else so large copies use every thread).
    ParallelFor(n, 1, [&](int64_t b, int64_t e) {
      std::memcpy(static_cast<D*>(dst) + b, static_cast<const S*>(src) + b, (e - b) * sizeof(D));
    });
  } else {
    ew::RunUnary(static_cast<const S*>(src), static_cast<D*>(dst), n, kIs16BitFloat<From> || kIs16BitFloat<To> ? 2 : 1,
                 [](S v) { return ConvertOne<To, From>(v); });
  }
}

template <typename From>
Status CastFrom(ElemType to, const void* src, void* dst, int64_t n) {
  switch (to) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: CastLoop<From, float>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: CastLoop<From, double>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: CastLoop<From, int32_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: CastLoop<From, int64_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: CastLoop<From, Bool>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: CastLoop<From, uint8_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: CastLoop<From, int8_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: CastLoop<From, int16_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: CastLoop<From, uint16_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: CastLoop<From, uint32_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: CastLoop<From, uint64_t>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: CastLoop<From, Half>(src, dst, n); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: CastLoop<From, BHalf>(src, dst, n); break;
    default: return Fail("unexpected target type ", ElemTypeName(to));
  }
  return {};
}

}  // namespace

Status CastKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0), "Cast has no input");
  const ElemType from = node.InputType(0);
  const auto to_attr = node.Int("to");
  ANVIL_CHECK(to_attr.has_value(), "Cast has no 'to' attribute");
  const ElemType to = static_cast<ElemType>(*to_attr);
  ANVIL_CHECK(Castable(from), "Cast: source type ", ElemTypeName(from), " is not supported");
  ANVIL_CHECK(Castable(to), "Cast: target type ", ElemTypeName(to), " (", *to_attr, ") is not supported");
  // 'saturate' (revision 19+) and 'round_mode' (revision 25+) only affect float8 types.
  if (out) *out = std::make_unique<CastKernel>(from, to);
  return {};
}

Status CastKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  const int64_t n = x.size();
  if (n == 0) return {};
  switch (from_) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return CastFrom<float>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return CastFrom<double>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return CastFrom<int32_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return CastFrom<int64_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return CastFrom<Bool>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return CastFrom<uint8_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return CastFrom<int8_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return CastFrom<int16_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return CastFrom<uint16_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return CastFrom<uint32_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return CastFrom<uint64_t>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return CastFrom<Half>(to_, x.data, y, n);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return CastFrom<BHalf>(to_, x.data, y, n);
    default: return Fail("unexpected source type ", ElemTypeName(from_));
  }
}

}  // namespace anvil
