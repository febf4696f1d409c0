#include "tensor_io.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace anvil_run {

namespace {

struct TypeEntry {
  ONNXTensorElementDataType type;
  const char* name;
  const char* npy;  // NumPy descr (little-endian)
  size_t size;
};

constexpr TypeEntry kTypes[] = {
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "float32", "<f4", 4},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, "float64", "<f8", 8},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, "float16", "<f2", 2},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "int64", "<i8", 8},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "int32", "<i4", 4},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16, "int16", "<i2", 2},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, "int8", "|i1", 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64, "uint64", "<u8", 8},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32, "uint32", "<u4", 4},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16, "uint16", "<u2", 2},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, "uint8", "|u1", 1},
    {ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "bool", "|b1", 1},
};

const TypeEntry* FindType(ONNXTensorElementDataType type) {
  for (const TypeEntry& e : kTypes)
    if (e.type == type) return &e;
  return nullptr;
}

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) Fail(path, "cannot open the file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) Fail(path, "read error");
  return bytes;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) return (sign ? -1.f : 1.f) * std::ldexp(static_cast<float>(mant), -24);
  uint32_t bits = exp == 31 ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

size_t CheckedCount(const std::string& path, const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) Fail(path, "negative dimension " + std::to_string(d));
    if (d != 0 && n > (size_t{1} << 40) / static_cast<size_t>(d)) Fail(path, "tensor too large");
    n *= static_cast<size_t>(d);
  }
  return n;
}

// ---- .npy -------------------------------------------------------------------------------------

// Value of `'key': <value>` in the header dict, as the raw text up to the next ',' at depth 0
// (or the closing paren for tuples).
std::string NpyField(const std::string& path, const std::string& header, const std::string& key) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) k = header.find("\"" + key + "\"");
  if (k == std::string::npos) Fail(path, "npy header has no '" + key + "'");
  size_t p = header.find(':', k);
  if (p == std::string::npos) Fail(path, "malformed npy header");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p < header.size() && header[p] == '(') {
    size_t e = header.find(')', p);
    if (e == std::string::npos) Fail(path, "malformed npy header");
    return header.substr(p, e - p + 1);
  }
  size_t e = p;
  while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
  std::string v = header.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

}  // namespace

size_t HostTensor::ElementCount() const {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

size_t ElementSize(ONNXTensorElementDataType type) {
  const TypeEntry* e = FindType(type);
  return e ? e->size : 0;
}

std::string TypeName(ONNXTensorElementDataType type) {
  if (const TypeEntry* e = FindType(type)) return e->name;
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: return "string";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    default: return "onnx type " + std::to_string(static_cast<int>(type));
  }
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

double ElementAsDouble(const HostTensor& t, size_t i) {
  switch (t.type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return t.As<float>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return t.As<double>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return HalfToFloat(t.As<uint16_t>()[i]);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return static_cast<double>(t.As<int64_t>()[i]);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return t.As<int32_t>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return t.As<int16_t>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return t.As<int8_t>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return static_cast<double>(t.As<uint64_t>()[i]);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return t.As<uint32_t>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return t.As<uint16_t>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return t.As<uint8_t>()[i];
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return t.As<uint8_t>()[i] ? 1.0 : 0.0;
    default: return std::nan("");
  }
}

HostTensor ReadNpy(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) Fail(path, "not an .npy file");
  const int major = bytes[6];
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) Fail(path, "truncated .npy header");
    header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (static_cast<size_t>(bytes[11]) << 24);
    offset = 12;
  } else {
    Fail(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (offset + header_len > bytes.size()) Fail(path, "truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);

  std::string descr = NpyField(path, header, "descr");
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"')) Fail(path, "unsupported npy dtype " + descr);
  descr = descr.substr(1, descr.size() - 2);
  if (!descr.empty() && descr[0] == '=') descr[0] = '<';  // native order: this runner is little-endian only
  if (descr.size() == 3 && descr[2] == '1' && descr[0] != '|') descr[0] = '|';
  const TypeEntry* type = nullptr;
  for (const TypeEntry& e : kTypes)
    if (descr == e.npy) type = &e;
  if (type == nullptr) {
    if (!descr.empty() && descr[0] == '>') Fail(path, "big-endian data (" + descr + ") is not supported");
    Fail(path, "unsupported npy dtype '" + descr + "'");
  }
  if (NpyField(path, header, "fortran_order") != "False") Fail(path, "Fortran-ordered arrays are not supported");

  HostTensor t;
  t.type = type->type;
  const std::string shape = NpyField(path, header, "shape");  // "(1, 3, 4)" or "(5,)" or "()"
  size_t p = 1;
  while (p < shape.size()) {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size() || shape[p] == ')') break;
    size_t q = p;
    while (q < shape.size() && shape[q] >= '0' && shape[q] <= '9') ++q;
    if (q == p) Fail(path, "malformed npy shape " + shape);
    t.shape.push_back(std::stoll(shape.substr(p, q - p)));
    p = q;
    if (p < shape.size() && shape[p] == 'L') ++p;
  }
  const size_t n = CheckedCount(path, t.shape);
  const size_t data_bytes = n * type->size;
  const size_t start = offset + header_len;
  if (bytes.size() - start < data_bytes)
    Fail(path, "truncated: shape " + ShapeString(t.shape) + " needs " + std::to_string(data_bytes) +
                   " data bytes, the file has " + std::to_string(bytes.size() - start));
  t.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(start),
                bytes.begin() + static_cast<std::ptrdiff_t>(start + data_bytes));
  return t;
}

void WriteNpy(const std::string& path, const HostTensor& t) {
  const TypeEntry* type = FindType(t.type);
  if (type == nullptr) throw std::runtime_error(path + ": cannot write " + TypeName(t.type) + " as .npy");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape[i]);
  shape += t.shape.size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + type->npy + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot create the file");
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char preamble[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xff),
                             static_cast<char>(len >> 8)};
  f.write(preamble, 10);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
  if (!f) throw std::runtime_error(path + ": write error");
}

// ---- TensorProto ------------------------------------------------------------------------------

namespace {

class ProtoReader {
 public:
  ProtoReader(const std::string& path, const uint8_t* p, const uint8_t* end) : path_(path), p_(p), end_(end) {}
  bool Done() const { return p_ >= end_; }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) Fail(path_, "truncated TensorProto (varint)");
      const uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    Fail(path_, "malformed TensorProto (varint too long)");
  }
  const uint8_t* Take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) Fail(path_, "truncated TensorProto");
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  template <typename T>
  T Fixed() {
    T v;
    std::memcpy(&v, Take(sizeof(T)), sizeof(T));
    return v;
  }
  void Skip(uint32_t wire) {
    switch (wire) {
      case 0: Varint(); break;
      case 1: Take(8); break;
      case 2: Take(Varint()); break;
      case 5: Take(4); break;
      default: Fail(path_, "not a TensorProto (wire type " + std::to_string(wire) + ")");
    }
  }
  const std::string& path() const { return path_; }

 private:
  const std::string& path_;
  const uint8_t* p_;
  const uint8_t* end_;
};

// A repeated scalar field, packed (wire 2) or not.
template <typename T, typename ReadOne>
void ReadRepeated(ProtoReader& r, uint32_t wire, uint32_t scalar_wire, std::vector<T>& out, ReadOne read_one) {
  if (wire == 2) {
    const size_t n = r.Varint();
    const uint8_t* at = r.Take(n);
    ProtoReader sub(r.path(), at, at + n);
    while (!sub.Done()) out.push_back(read_one(sub));
  } else if (wire == scalar_wire) {
    out.push_back(read_one(r));
  } else {
    r.Skip(wire);
  }
}

}  // namespace

HostTensor ReadTensorProto(const std::string& path, const std::vector<uint8_t>& bytes, std::string* name) {
  ProtoReader r(path, bytes.data(), bytes.data() + bytes.size());
  std::vector<int64_t> dims;
  int64_t data_type = 0;
  std::vector<float> float_data;
  std::vector<double> double_data;
  std::vector<int64_t> int64_data, int32_data;
  std::vector<uint64_t> uint64_data;
  const uint8_t* raw = nullptr;
  size_t raw_size = 0;
  bool has_raw = false, external = false, has_strings = false;
  while (!r.Done()) {
    const uint64_t key = r.Varint();
    const uint32_t field = static_cast<uint32_t>(key >> 3), wire = static_cast<uint32_t>(key & 7);
    auto varint = [](ProtoReader& x) { return static_cast<int64_t>(x.Varint()); };
    switch (field) {
      case 1: ReadRepeated(r, wire, 0, dims, varint); break;
      case 2:
        if (wire != 0) Fail(path, "not a TensorProto (data_type)");
        data_type = static_cast<int64_t>(r.Varint());
        break;
      case 4: ReadRepeated(r, wire, 5, float_data, [](ProtoReader& x) { return x.Fixed<float>(); }); break;
      case 5: ReadRepeated(r, wire, 0, int32_data, varint); break;
      case 6: has_strings = true; r.Skip(wire); break;
      case 7: ReadRepeated(r, wire, 0, int64_data, varint); break;
      case 8:
        if (wire != 2) Fail(path, "not a TensorProto (name)");
        {
          const size_t n = r.Varint();
          const uint8_t* at = r.Take(n);
          if (name) name->assign(reinterpret_cast<const char*>(at), n);
        }
        break;
      case 9:
        if (wire != 2) Fail(path, "not a TensorProto (raw_data)");
        raw_size = r.Varint();
        raw = r.Take(raw_size);
        has_raw = true;
        break;
      case 10: ReadRepeated(r, wire, 1, double_data, [](ProtoReader& x) { return x.Fixed<double>(); }); break;
      case 11: ReadRepeated(r, wire, 0, uint64_data, [](ProtoReader& x) { return x.Varint(); }); break;
      case 14:
        if (wire == 0 && r.Varint() == 1) external = true;
        else if (wire != 0) r.Skip(wire);
        break;
      default: r.Skip(wire); break;
    }
  }
  if (external) Fail(path, "TensorProto with external data is not supported");
  if (data_type == 0) Fail(path, "not a TensorProto (no data_type)");
  HostTensor t;
  t.type = static_cast<ONNXTensorElementDataType>(data_type);
  const size_t esize = ElementSize(t.type);
  if (esize == 0 || has_strings) Fail(path, "TensorProto of type " + TypeName(t.type) + " is not supported");
  t.shape = dims;
  const size_t n = CheckedCount(path, dims);
  t.data.resize(n * esize);
  auto count_check = [&](size_t have, const char* field) {
    if (have != n)
      Fail(path, std::string("TensorProto ") + field + " has " + std::to_string(have) + " values, shape " +
                     ShapeString(dims) + " needs " + std::to_string(n));
  };
  if (has_raw) {
    if (raw_size != n * esize)
      Fail(path, "TensorProto raw_data has " + std::to_string(raw_size) + " bytes, shape " + ShapeString(dims) +
                     " of " + TypeName(t.type) + " needs " + std::to_string(n * esize));
    if (n) std::memcpy(t.data.data(), raw, raw_size);
    return t;
  }
  auto store = [&](auto src, auto cast_to) {
    using D = decltype(cast_to);
    for (size_t i = 0; i < n; ++i) {
      D v = static_cast<D>(src[i]);
      std::memcpy(t.data.data() + i * sizeof(D), &v, sizeof(D));
    }
  };
  switch (t.type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: count_check(float_data.size(), "float_data"); store(float_data, float{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: count_check(double_data.size(), "double_data"); store(double_data, double{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: count_check(int64_data.size(), "int64_data"); store(int64_data, int64_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: {
      count_check(uint64_data.size(), "uint64_data");
      if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64) store(uint64_data, uint64_t{});
      else store(uint64_data, uint32_t{});
      break;
    }
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: count_check(int32_data.size(), "int32_data"); store(int32_data, int32_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: count_check(int32_data.size(), "int32_data"); store(int32_data, int16_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: count_check(int32_data.size(), "int32_data"); store(int32_data, uint16_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: count_check(int32_data.size(), "int32_data"); store(int32_data, int8_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: count_check(int32_data.size(), "int32_data"); store(int32_data, uint8_t{}); break;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: {
      count_check(int32_data.size(), "int32_data");
      for (size_t i = 0; i < n; ++i) t.data[i] = int32_data[i] != 0;
      break;
    }
    default: Fail(path, "TensorProto of type " + TypeName(t.type) + " is not supported");
  }
  return t;
}

HostTensor ReadTensorFile(const std::string& path, std::string* pb_name) {
  const std::vector<uint8_t> bytes = ReadFile(path);
  if (pb_name) pb_name->clear();
  if (bytes.size() >= 6 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0) return ReadNpy(path, bytes);
  const bool looks_npy = path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
  if (looks_npy) Fail(path, "not an .npy file (bad magic)");
  return ReadTensorProto(path, bytes, pb_name);
}

}  // namespace anvil_run
