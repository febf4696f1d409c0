// A tiny protobuf writer for ONNX models: just the fields the structured fuzz decoder emits
// (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz {

class Proto {
 public:
  Proto& Varint(int field, uint64_t v);
  Proto& Bytes(int field, std::string_view b);
  Proto& Msg(int field, const Proto& m) { return Bytes(field, m.str()); }
  Proto& Float(int field, float v);
  const std::string& str() const { return s_; }

 private:
  void Raw(uint64_t v);
  std::string s_;
};

// ONNX AttributeProto.AttributeType values.
enum AttrType { kAttrFloat = 1, kAttrInt = 2, kAttrString = 3, kAttrTensor = 4, kAttrGraph = 5,
                kAttrFloats = 6, kAttrInts = 7, kAttrStrings = 8 };

Proto Tensor(const std::string& name, int elem_type, const std::vector<int64_t>& dims, std::string_view raw);
// dims == nullopt: rank unknown; a dim < 0 is symbolic ("d<i>").
Proto ValueInfo(const std::string& name, int elem_type, const std::optional<std::vector<int64_t>>& dims);
Proto NameOnlyValueInfo(const std::string& name);

struct Attribute {
  std::string name;
  int type = 0;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::optional<Proto> t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};
Proto AttributeMsg(const Attribute& a);

Proto Node(const std::string& op, const std::string& domain, const std::vector<std::string>& inputs,
           const std::vector<std::string>& outputs, const std::vector<Attribute>& attrs);

struct Graph {
  std::vector<Proto> nodes, initializers, inputs, outputs;
};
std::string Model(const Graph& g, const std::vector<std::pair<std::string, int>>& opsets);

}  // namespace fuzz
