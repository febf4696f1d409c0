#include "ep/node_info_ort.h"

#include <cstring>

namespace anvil {
namespace {

const OrtApi& Api() { return Ort::GetApi(); }

// True if the call succeeded; a failure status is released (absence is not an error here).
bool Succeeded(OrtStatus* status) {
  if (status == nullptr) return true;
  Api().ReleaseStatus(status);
  return false;
}

struct TypeAndShape {
  ElemType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::optional<Shape> shape;
};

TypeAndShape ReadTypeInfo(const OrtTypeInfo* type_info) {
  TypeAndShape out;
  const OrtTensorTypeAndShapeInfo* tensor = nullptr;
  if (type_info == nullptr || !Succeeded(Api().CastTypeInfoToTensorInfo(type_info, &tensor)) || !tensor) return out;
  Succeeded(Api().GetTensorElementType(tensor, &out.type));
  if (!Api().TensorTypeAndShape_HasShape(tensor)) return out;
  size_t rank = 0;
  if (!Succeeded(Api().GetDimensionsCount(tensor, &rank))) return out;
  Shape dims(rank);
  if (rank && !Succeeded(Api().GetDimensions(tensor, dims.data(), rank))) return out;
  out.shape = std::move(dims);
  return out;
}

TypeAndShape ReadValueInfo(const OrtValueInfo* vi) {
  if (vi == nullptr) return {};
  const OrtTypeInfo* type_info = nullptr;
  if (!Succeeded(Api().GetValueInfoTypeInfo(vi, &type_info))) return {};
  return ReadTypeInfo(type_info);
}

template <typename GetFn>
std::string ReadString(GetFn get) {
  size_t size = 0;
  if (!Succeeded(get(nullptr, &size)) || size == 0) return {};
  std::string s(size, '\0');
  if (!Succeeded(get(s.data(), &size))) return {};
  s.resize(size > 0 ? size - 1 : 0);  // drop the terminator
  return s;
}

// Copies a tensor OrtValue (owned by the caller) into a TensorAttr.
std::optional<NodeInfo::TensorAttr> CopyTensor(OrtValue* value) {
  if (value == nullptr) return std::nullopt;
  NodeInfo::TensorAttr out;
  const TensorView v = ViewOf(value);
  const size_t es = ElemSize(v.type);
  if (es != 0 && (v.data != nullptr || v.size() == 0)) {
    out.type = v.type;
    out.shape = v.shape;
    const auto* p = static_cast<const uint8_t*>(v.data);
    out.bytes.assign(p, p + static_cast<size_t>(v.size()) * es);
  }
  Api().ReleaseValue(value);
  if (out.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED) return std::nullopt;
  return out;
}

}  // namespace

TensorView ViewOf(const OrtValue* value) {
  TensorView v;
  if (value == nullptr) return v;
  // The shape by reference (no OrtTensorTypeAndShapeInfo to allocate): this runs per input per call.
  const int64_t* dims = nullptr;
  size_t rank = 0;
  if (!Succeeded(Api().GetTensorElementTypeAndShapeDataReference(value, &v.type, &dims, &rank))) return v;
  v.shape.assign(dims, dims + rank);
  const void* data = nullptr;
  if (Succeeded(Api().GetTensorData(value, &data))) v.data = data;
  return v;
}

// ---- GraphNodeInfo ----

GraphNodeInfo::GraphNodeInfo(const OrtNode* node) : node_(node) {
  size_t n = 0;
  if (Succeeded(Api().Node_GetNumInputs(node, &n))) {
    inputs_.resize(n);
    if (n && !Succeeded(Api().Node_GetInputs(node, inputs_.data(), n))) inputs_.clear();
  }
  if (Succeeded(Api().Node_GetNumOutputs(node, &n))) {
    outputs_.resize(n);
    if (n && !Succeeded(Api().Node_GetOutputs(node, outputs_.data(), n))) outputs_.clear();
  }
}

std::string GraphNodeInfo::Name() const {
  const char* s = nullptr;
  return Succeeded(Api().Node_GetName(node_, &s)) && s ? s : "";
}
std::string GraphNodeInfo::OpType() const {
  const char* s = nullptr;
  return Succeeded(Api().Node_GetOperatorType(node_, &s)) && s ? s : "";
}
int GraphNodeInfo::SinceVersion() const {
  int v = 0;
  return Succeeded(Api().Node_GetSinceVersion(node_, &v)) ? v : 0;
}
ElemType ValueType(const OrtValueInfo* value) { return ReadValueInfo(value).type; }
std::optional<Shape> ValueShape(const OrtValueInfo* value) { return ReadValueInfo(value).shape; }
std::optional<TensorView> ConstantValue(const OrtValueInfo* value) {
  if (value == nullptr) return std::nullopt;
  bool is_constant = false;
  if (!Succeeded(Api().ValueInfo_IsConstantInitializer(value, &is_constant)) || !is_constant) return std::nullopt;
  const OrtValue* v = nullptr;
  if (!Succeeded(Api().ValueInfo_GetInitializerValue(value, &v)) || !v) return std::nullopt;
  return ViewOf(v);
}

ElemType GraphNodeInfo::InputType(size_t i) const {
  return InputExists(i) ? ValueType(inputs_[i]) : ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}
std::optional<Shape> GraphNodeInfo::InputShape(size_t i) const {
  return InputExists(i) ? ValueShape(inputs_[i]) : std::nullopt;
}
ElemType GraphNodeInfo::OutputType(size_t i) const {
  return i < outputs_.size() ? ValueType(outputs_[i]) : ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}
std::optional<TensorView> GraphNodeInfo::ConstantInput(size_t i) const {
  return InputExists(i) ? ConstantValue(inputs_[i]) : std::nullopt;
}

// ---- FunctionNodeInfo ----

ElemType FunctionNodeInfo::InputType(size_t i) const {
  return InputExists(i) ? ValueType(inputs_[i]) : ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}
std::optional<Shape> FunctionNodeInfo::InputShape(size_t i) const {
  return InputExists(i) ? ValueShape(inputs_[i]) : std::nullopt;
}
std::optional<TensorView> FunctionNodeInfo::ConstantInput(size_t i) const {
  return InputExists(i) ? ConstantValue(inputs_[i]) : std::nullopt;
}
ElemType FunctionNodeInfo::OutputType(size_t i) const {
  return i < outputs_.size() ? ValueType(outputs_[i]) : ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}
std::optional<int64_t> FunctionNodeInfo::Int(const char* name) const {
  auto it = attrs_.ints.find(name);
  return it == attrs_.ints.end() ? std::nullopt : std::optional<int64_t>(it->second);
}
std::optional<float> FunctionNodeInfo::Float(const char* name) const {
  auto it = attrs_.floats.find(name);
  return it == attrs_.floats.end() ? std::nullopt : std::optional<float>(it->second);
}

const OrtOpAttr* GraphNodeInfo::Attr(const char* name, OrtOpAttrType type) const {
  const OrtOpAttr* attr = nullptr;
  if (!Succeeded(Api().Node_GetAttributeByName(node_, name, &attr)) || attr == nullptr) return nullptr;
  OrtOpAttrType actual = ORT_OP_ATTR_UNDEFINED;
  if (!Succeeded(Api().OpAttr_GetType(attr, &actual)) || actual != type) return nullptr;
  return attr;
}

namespace {
template <typename T>
std::optional<std::vector<T>> ReadArrayAttr(const OrtOpAttr* attr, OrtOpAttrType type) {
  if (attr == nullptr) return std::nullopt;
  size_t bytes = 0;
  // First call reports the size; it fails when the buffer is too small, which is expected.
  Succeeded(Api().ReadOpAttr(attr, type, nullptr, 0, &bytes));
  std::vector<T> out(bytes / sizeof(T));
  if (bytes && !Succeeded(Api().ReadOpAttr(attr, type, out.data(), bytes, &bytes))) return std::nullopt;
  return out;
}
}  // namespace

std::optional<int64_t> GraphNodeInfo::Int(const char* name) const {
  const OrtOpAttr* a = Attr(name, ORT_OP_ATTR_INT);
  int64_t v = 0;
  size_t out = 0;
  if (a && Succeeded(Api().ReadOpAttr(a, ORT_OP_ATTR_INT, &v, sizeof(v), &out))) return v;
  return std::nullopt;
}
std::optional<float> GraphNodeInfo::Float(const char* name) const {
  const OrtOpAttr* a = Attr(name, ORT_OP_ATTR_FLOAT);
  float v = 0;
  size_t out = 0;
  if (a && Succeeded(Api().ReadOpAttr(a, ORT_OP_ATTR_FLOAT, &v, sizeof(v), &out))) return v;
  return std::nullopt;
}
std::optional<std::string> GraphNodeInfo::String(const char* name) const {
  auto chars = ReadArrayAttr<char>(Attr(name, ORT_OP_ATTR_STRING), ORT_OP_ATTR_STRING);
  if (!chars) return std::nullopt;
  return std::string(chars->begin(), chars->end());
}
std::optional<std::vector<int64_t>> GraphNodeInfo::Ints(const char* name) const {
  return ReadArrayAttr<int64_t>(Attr(name, ORT_OP_ATTR_INTS), ORT_OP_ATTR_INTS);
}
std::optional<std::vector<float>> GraphNodeInfo::Floats(const char* name) const {
  return ReadArrayAttr<float>(Attr(name, ORT_OP_ATTR_FLOATS), ORT_OP_ATTR_FLOATS);
}
std::optional<std::vector<std::string>> GraphNodeInfo::Strings(const char* name) const {
  // ReadOpAttr gives the strings one after another, each with its terminator.
  auto chars = ReadArrayAttr<char>(Attr(name, ORT_OP_ATTR_STRINGS), ORT_OP_ATTR_STRINGS);
  if (!chars) return std::nullopt;
  std::vector<std::string> out;
  for (size_t i = 0; i < chars->size();) {
    size_t end = i;
    while (end < chars->size() && (*chars)[end] != '\0') ++end;
    out.emplace_back(chars->data() + i, end - i);
    i = end + 1;
  }
  return out;
}

std::optional<NodeInfo::TensorAttr> GraphNodeInfo::Tensor(const char* name) const {
  const OrtOpAttr* a = Attr(name, ORT_OP_ATTR_TENSOR);
  OrtValue* value = nullptr;
  if (a == nullptr || !Succeeded(Api().OpAttr_GetTensorAttributeAsOrtValue(a, &value))) return std::nullopt;
  return CopyTensor(value);
}

// ---- KernelNodeInfo ----

KernelNodeInfo::KernelNodeInfo(const OrtKernelInfo* info) : info_(info) {}

std::string KernelNodeInfo::Name() const {
  return ReadString([&](char* out, size_t* size) { return Api().KernelInfo_GetNodeName(info_, out, size); });
}
std::string KernelNodeInfo::OpType() const {
  return ReadString([&](char* out, size_t* size) { return Api().KernelInfo_GetOperatorType(info_, out, size); });
}
int KernelNodeInfo::SinceVersion() const {
  int v = 0;
  return Succeeded(Api().KernelInfo_GetOperatorSinceVersion(info_, &v)) ? v : 0;
}
size_t KernelNodeInfo::InputCount() const {
  size_t n = 0;
  return Succeeded(Api().KernelInfo_GetInputCount(info_, &n)) ? n : 0;
}
bool KernelNodeInfo::InputExists(size_t i) const {
  if (i >= InputCount()) return false;
  return !ReadString([&](char* out, size_t* size) { return Api().KernelInfo_GetInputName(info_, i, out, size); })
              .empty();
}
ElemType KernelNodeInfo::InputType(size_t i) const {
  OrtTypeInfo* ti = nullptr;
  if (!InputExists(i) || !Succeeded(Api().KernelInfo_GetInputTypeInfo(info_, i, &ti))) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  ElemType t = ReadTypeInfo(ti).type;
  Api().ReleaseTypeInfo(ti);
  return t;
}
std::optional<Shape> KernelNodeInfo::InputShape(size_t i) const {
  OrtTypeInfo* ti = nullptr;
  if (!InputExists(i) || !Succeeded(Api().KernelInfo_GetInputTypeInfo(info_, i, &ti))) return std::nullopt;
  auto shape = ReadTypeInfo(ti).shape;
  Api().ReleaseTypeInfo(ti);
  return shape;
}
std::optional<TensorView> KernelNodeInfo::ConstantInput(size_t i) const {
  if (!InputExists(i)) return std::nullopt;
  int is_constant = 0;
  const OrtValue* value = nullptr;
  if (!Succeeded(Api().KernelInfoGetConstantInput_tensor(info_, i, &is_constant, &value)) || !is_constant || !value)
    return std::nullopt;
  return ViewOf(value);
}
size_t KernelNodeInfo::OutputCount() const {
  size_t n = 0;
  return Succeeded(Api().KernelInfo_GetOutputCount(info_, &n)) ? n : 0;
}
ElemType KernelNodeInfo::OutputType(size_t i) const {
  OrtTypeInfo* ti = nullptr;
  if (!Succeeded(Api().KernelInfo_GetOutputTypeInfo(info_, i, &ti))) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  ElemType t = ReadTypeInfo(ti).type;
  Api().ReleaseTypeInfo(ti);
  return t;
}
std::optional<int64_t> KernelNodeInfo::Int(const char* name) const {
  int64_t v = 0;
  if (Succeeded(Api().KernelInfoGetAttribute_int64(info_, name, &v))) return v;
  return std::nullopt;
}
std::optional<float> KernelNodeInfo::Float(const char* name) const {
  float v = 0;
  if (Succeeded(Api().KernelInfoGetAttribute_float(info_, name, &v))) return v;
  return std::nullopt;
}
std::optional<std::string> KernelNodeInfo::String(const char* name) const {
  size_t size = 0;
  if (!Succeeded(Api().KernelInfoGetAttribute_string(info_, name, nullptr, &size))) return std::nullopt;
  std::string s(size, '\0');
  if (!Succeeded(Api().KernelInfoGetAttribute_string(info_, name, s.data(), &size))) return std::nullopt;
  s.resize(size > 0 ? size - 1 : 0);
  return s;
}
std::optional<std::vector<int64_t>> KernelNodeInfo::Ints(const char* name) const {
  size_t n = 0;
  if (!Succeeded(Api().KernelInfoGetAttributeArray_int64(info_, name, nullptr, &n))) return std::nullopt;
  std::vector<int64_t> v(n);
  if (n && !Succeeded(Api().KernelInfoGetAttributeArray_int64(info_, name, v.data(), &n))) return std::nullopt;
  return v;
}
std::optional<std::vector<float>> KernelNodeInfo::Floats(const char* name) const {
  size_t n = 0;
  if (!Succeeded(Api().KernelInfoGetAttributeArray_float(info_, name, nullptr, &n))) return std::nullopt;
  std::vector<float> v(n);
  if (n && !Succeeded(Api().KernelInfoGetAttributeArray_float(info_, name, v.data(), &n))) return std::nullopt;
  return v;
}

std::optional<std::vector<std::string>> KernelNodeInfo::Strings(const char* name) const {
  OrtAllocator* allocator = nullptr;
  if (!Succeeded(Api().GetAllocatorWithDefaultOptions(&allocator)) || allocator == nullptr) return std::nullopt;
  char** strings = nullptr;
  size_t n = 0;
  if (!Succeeded(Api().KernelInfoGetAttributeArray_string(info_, name, allocator, &strings, &n))) return std::nullopt;
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    out.emplace_back(strings[i] ? strings[i] : "");
    if (strings[i]) allocator->Free(allocator, strings[i]);
  }
  if (strings) allocator->Free(allocator, strings);
  return out;
}

std::optional<NodeInfo::TensorAttr> KernelNodeInfo::Tensor(const char* name) const {
  OrtAllocator* allocator = nullptr;
  if (!Succeeded(Api().GetAllocatorWithDefaultOptions(&allocator))) return std::nullopt;
  OrtValue* value = nullptr;
  if (!Succeeded(Api().KernelInfoGetAttribute_tensor(info_, name, allocator, &value))) return std::nullopt;
  return CopyTensor(value);
}

}  // namespace anvil
