#include "onnx_writer.h"

#include <cstring>

namespace fuzz {

void Proto::Raw(uint64_t v) {
  while (v >= 0x80) {
    s_.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s_.push_back(static_cast<char>(v));
}

Proto& Proto::Varint(int field, uint64_t v) {
  Raw(static_cast<uint64_t>(field) << 3);
  Raw(v);
  return *this;
}

Proto& Proto::Bytes(int field, std::string_view b) {
  Raw((static_cast<uint64_t>(field) << 3) | 2);
  Raw(b.size());
  s_.append(b);
  return *this;
}

Proto& Proto::Float(int field, float v) {
  Raw((static_cast<uint64_t>(field) << 3) | 5);
  char bytes[4];
  std::memcpy(bytes, &v, 4);
  s_.append(bytes, 4);
  return *this;
}

Proto Tensor(const std::string& name, int elem_type, const std::vector<int64_t>& dims, std::string_view raw) {
  Proto t;
  for (int64_t d : dims) t.Varint(1, static_cast<uint64_t>(d));
  t.Varint(2, static_cast<uint64_t>(elem_type));
  t.Bytes(8, name);
  t.Bytes(9, raw);
  return t;
}

Proto ValueInfo(const std::string& name, int elem_type, const std::optional<std::vector<int64_t>>& dims) {
  Proto tensor;
  tensor.Varint(1, static_cast<uint64_t>(elem_type));
  if (dims) {
    Proto shape;
    for (size_t i = 0; i < dims->size(); ++i) {
      Proto dim;
      if ((*dims)[i] >= 0)
        dim.Varint(1, static_cast<uint64_t>((*dims)[i]));
      else
        dim.Bytes(2, "d" + std::to_string(i));
      shape.Msg(1, dim);
    }
    tensor.Msg(2, shape);
  }
  Proto type;
  type.Msg(1, tensor);
  Proto vi;
  vi.Bytes(1, name);
  vi.Msg(2, type);
  return vi;
}

Proto NameOnlyValueInfo(const std::string& name) {
  Proto vi;
  vi.Bytes(1, name);
  return vi;
}

Proto AttributeMsg(const Attribute& a) {
  Proto p;
  p.Bytes(1, a.name);
  switch (a.type) {
    case kAttrFloat: p.Float(2, a.f); break;
    case kAttrInt: p.Varint(3, static_cast<uint64_t>(a.i)); break;
    case kAttrString: p.Bytes(4, a.s); break;
    case kAttrTensor: if (a.t) p.Msg(5, *a.t); break;
    case kAttrFloats: for (float f : a.floats) p.Float(7, f); break;
    case kAttrInts: for (int64_t i : a.ints) p.Varint(8, static_cast<uint64_t>(i)); break;
    case kAttrStrings: for (const auto& s : a.strings) p.Bytes(9, s); break;
    default: break;
  }
  p.Varint(20, static_cast<uint64_t>(a.type));
  return p;
}

Proto Node(const std::string& op, const std::string& domain, const std::vector<std::string>& inputs,
           const std::vector<std::string>& outputs, const std::vector<Attribute>& attrs) {
  Proto n;
  for (const auto& i : inputs) n.Bytes(1, i);
  for (const auto& o : outputs) n.Bytes(2, o);
  n.Bytes(3, "fuzz_node");
  n.Bytes(4, op);
  for (const auto& a : attrs) n.Msg(5, AttributeMsg(a));
  if (!domain.empty()) n.Bytes(7, domain);
  return n;
}

std::string Model(const Graph& g, const std::vector<std::pair<std::string, int>>& opsets) {
  Proto graph;
  for (const auto& n : g.nodes) graph.Msg(1, n);
  graph.Bytes(2, "fuzz");
  for (const auto& t : g.initializers) graph.Msg(5, t);
  for (const auto& i : g.inputs) graph.Msg(11, i);
  for (const auto& o : g.outputs) graph.Msg(12, o);
  Proto model;
  model.Varint(1, 10);  // IR version 10 (ONNX 1.16+)
  model.Bytes(2, "anvil_fuzz");
  for (const auto& [domain, version] : opsets) {
    Proto opset;
    if (!domain.empty()) opset.Bytes(1, domain);
    opset.Varint(2, static_cast<uint64_t>(version));
    model.Msg(8, opset);
  }
  model.Msg(7, graph);
  return model.str();
}

}  // namespace fuzz
