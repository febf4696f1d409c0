// Host tensors and the two file formats anvil_run reads and writes: NumPy .npy (read and write)
// and ONNX TensorProto .pb (read). Both readers are self-contained: no protobuf, no NumPy.
#pragma once

#include <onnxruntime_c_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace anvil_run {

// A dense, C-ordered tensor in host memory.
struct HostTensor {
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // element bytes, little-endian

  size_t ElementCount() const;
  template <typename T>
  const T* As() const { return reinterpret_cast<const T*>(data.data()); }
};

// Size in bytes of one element; 0 for types anvil_run cannot hold (string, sub-byte types).
size_t ElementSize(ONNXTensorElementDataType type);
// "float32", "int64", ...
std::string TypeName(ONNXTensorElementDataType type);
// "[1,3,640,640]"
std::string ShapeString(const std::vector<int64_t>& shape);

// Value of element i converted to double (for comparisons).
double ElementAsDouble(const HostTensor& t, size_t i);

// Read a tensor from .npy or .pb (chosen by the file's contents, not its name). Throws
// std::runtime_error with a message naming the file and the problem. `pb_name` receives the
// TensorProto's name if it has one (empty for .npy).
HostTensor ReadTensorFile(const std::string& path, std::string* pb_name = nullptr);
HostTensor ReadNpy(const std::string& path, const std::vector<uint8_t>& bytes);
HostTensor ReadTensorProto(const std::string& path, const std::vector<uint8_t>& bytes, std::string* name);

// Write a tensor as .npy (format 1.0). Throws std::runtime_error on I/O errors or unsupported types.
void WriteNpy(const std::string& path, const HostTensor& t);

}  // namespace anvil_run
