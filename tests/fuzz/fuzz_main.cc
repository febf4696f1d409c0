// libFuzzer targets for Anvil, through ORT's public C++ API with the instrumented plugin
// (tests/fuzz/CMakeLists.txt). One source, two targets:
//   fuzz_model   first byte even: the rest is an ONNX model (seeds: tests/fuzz/make_corpus.py);
//                first byte odd: the structured decoder below. Sessions with Anvil, CPU fallback
//                on and off, and one Run with inputs of the declared shapes when one is created.
//   fuzz_kernel  (ANVIL_FUZZ_KERNEL_ONLY) the structured decoder only, fallback off, so the node
//                reaches Anvil's Create (claim time and kernel creation) and Compute.
// The structured decoder picks a row of Anvil's kernel list (schema_table.inc, generated from
// src/kernels/kernels.inc and the ONNX schemas by make_schema_table.py), an opset in the row's
// revision range, attributes of the schema with fuzzed values, input ranks, dims and element
// types, which inputs are constant initializers (fuzzed contents), and writes the one-node model
// as ONNX protobuf bytes (onnx_writer.h).
//
// Errors (ORT or Anvil returning a status, surfacing as Ort::Exception) are expected; crashes,
// sanitizer reports, timeouts and huge allocations are findings.
//
// Environment: ANVIL_FUZZ_LIB overrides the plugin path; ANVIL_FUZZ_DUMP=<file> writes each
// input's model there (to turn a crash input into a reproducer); ANVIL_FUZZ_VERBOSE=1 prints what
// each input became and any error message; ANVIL_FUZZ_NO_ANVIL=1 leaves Anvil out of the sessions
// (ORT's CPU EP alone: does the finding reproduce without Anvil?).
#include <anvil/anvil.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <onnxruntime_cxx_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "onnx_writer.h"
#include "op_table.h"

namespace {

using fuzz::AttrSpec;
using fuzz::OpRow;
using fuzz::Param;
const std::vector<OpRow>& kOps = fuzz::OpTable();

// The newest ai.onnx opset the pinned ORT (1.29) accepts.
constexpr int kMaxOpset = 25;
// Caps on what the decoder makes: per input tensor, and per Run input of a mutated model.
constexpr int64_t kMaxStructuredElems = 1 << 12;
constexpr int64_t kMaxModelInputElems = 1 << 20;
constexpr int64_t kSymbolicDim = 2;  // a symbolic or unknown dim of a mutated model's input

Ort::Env* g_env = nullptr;
std::vector<Ort::ConstEpDevice> g_devices;
bool g_verbose = false;
const char* g_dump = nullptr;
bool g_no_anvil = false;  // ANVIL_FUZZ_NO_ANVIL=1: ORT's CPU EP alone, to tell ORT's bugs from Anvil's

void Log(const char* fmt, const std::string& s) {
  if (g_verbose) std::fprintf(stderr, fmt, s.c_str());
}

size_t ElemSize(int t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return 8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return 2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return 1;
    default: return 0;  // strings, 4-bit and 2-bit types, complex: not generated
  }
}

bool IsFloat(int t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE ||
         t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
}

// Tensor contents: mostly small values (indices, axes, shapes, counts stay meaningful), sometimes
// the raw fuzz bytes (NaN, huge values).
std::string Contents(FuzzedDataProvider& fdp, int type, int64_t count) {
  size_t es = ElemSize(type);
  std::string out(static_cast<size_t>(count) * es, '\0');
  int mode = fdp.ConsumeIntegralInRange(0, 3);
  for (int64_t i = 0; i < count; ++i) {
    char* p = out.data() + i * es;
    if (mode == 3) {
      std::string raw = fdp.ConsumeBytesAsString(es);
      std::memcpy(p, raw.data(), raw.size());
      // A bool byte other than 0 or 1 is not ONNX data (ORT's kernels read it as C++ bool too,
      // undefined behaviour); Anvil's counting kernels (Compress) take any nonzero byte as true.
      if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL) *p = *p != 0;
      continue;
    }
    int64_t v = mode == 0 ? static_cast<int64_t>(i % 5) - 1 : fdp.ConsumeIntegralInRange<int64_t>(-4, 8);
    switch (type) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: { float f = static_cast<float>(v) * (mode == 2 ? 0.37f : 1.f); std::memcpy(p, &f, 4); break; }
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: { double d = static_cast<double>(v) * (mode == 2 ? 0.37 : 1.); std::memcpy(p, &d, 8); break; }
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: { uint16_t h = static_cast<uint16_t>(v == 0 ? 0 : (v < 0 ? 0xBC00 : 0x3C00)); std::memcpy(p, &h, 2); break; }
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: { uint16_t h = static_cast<uint16_t>(v == 0 ? 0 : (v < 0 ? 0xBF80 : 0x3F80)); std::memcpy(p, &h, 2); break; }
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: *p = static_cast<char>(v > 0); break;
      default: std::memcpy(p, &v, es); break;  // little-endian integers: the low bytes
    }
  }
  return out;
}

struct RunInput {
  std::string name;
  int type;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Runs one session: Anvil first, threads option `threads`, CPU fallback as asked. Returns true
// when the session was created.
bool Session(const std::string& model, bool fallback, int threads, int opt_level, const std::vector<RunInput>* given) {
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(1);
  so.SetInterOpNumThreads(1);
  so.DisableCpuMemArena();  // every tensor its own heap block: ASan sees overruns
  so.DisableMemPattern();
  so.SetGraphOptimizationLevel(static_cast<GraphOptimizationLevel>(opt_level));
  if (!fallback) so.AddConfigEntry("session.disable_cpu_ep_fallback", "1");
  if (!g_no_anvil) so.AppendExecutionProvider_V2(*g_env, g_devices, {{"threads", std::to_string(threads)}});
  std::optional<Ort::Session> session;
  try {
    session.emplace(*g_env, model.data(), model.size(), so);
  } catch (const Ort::Exception& e) {
    Log("session: %s\n", e.what());
    return false;
  }
  try {
    Ort::AllocatorWithDefaultOptions alloc;
    auto mem = Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault);
    std::vector<std::string> in_names, out_names;
    std::vector<RunInput> made;
    const std::vector<RunInput>* inputs = given;
    if (!inputs) {
      uint32_t seed = static_cast<uint32_t>(model.size());
      for (size_t i = 0; i < session->GetInputCount(); ++i) {
        auto info = session->GetInputTypeInfo(i);
        if (info.GetONNXType() != ONNX_TYPE_TENSOR) return true;
        auto t = info.GetTensorTypeAndShapeInfo();
        RunInput in;
        in.name = session->GetInputNameAllocated(i, alloc).get();
        in.type = t.GetElementType();
        if (ElemSize(in.type) == 0) return true;
        int64_t n = 1;
        for (int64_t d : t.GetShape()) {
          in.shape.push_back(d < 0 ? kSymbolicDim : d);
          n *= in.shape.back();
          if (n > kMaxModelInputElems) return true;
        }
        FuzzedDataProvider none(nullptr, 0);
        in.bytes = Contents(none, in.type, n);  // deterministic: mode 0 values
        for (size_t b = 0; IsFloat(in.type) && in.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && b < in.bytes.size(); b += 4) {
          seed = seed * 1664525u + 1013904223u;
          float f = static_cast<float>(seed >> 8) / 16777216.f * 2.f - 1.f;
          std::memcpy(in.bytes.data() + b, &f, 4);
        }
        made.push_back(std::move(in));
      }
      inputs = &made;
    }
    std::vector<Ort::Value> values;
    std::vector<const char*> in_ptrs, out_ptrs;
    std::vector<std::string> buffers;
    buffers.reserve(inputs->size());  // tensors point into these: no reallocation
    for (const auto& in : *inputs) {
      buffers.push_back(in.bytes);  // an exact-size heap block per input
      values.push_back(Ort::Value::CreateTensor(mem, buffers.back().data(), buffers.back().size(), in.shape.data(),
                                                in.shape.size(), static_cast<ONNXTensorElementDataType>(in.type)));
      in_ptrs.push_back(in.name.c_str());
    }
    for (size_t i = 0; i < session->GetOutputCount(); ++i)
      out_names.push_back(session->GetOutputNameAllocated(i, alloc).get());
    for (const auto& n : out_names) out_ptrs.push_back(n.c_str());
    auto outputs = session->Run(Ort::RunOptions{}, in_ptrs.data(), values.data(), values.size(), out_ptrs.data(),
                                out_ptrs.size());
    Log("run: ok, %s outputs\n", std::to_string(outputs.size()));
  } catch (const Ort::Exception& e) {
    Log("run: %s\n", e.what());
  }
  return true;
}

const char* const kStrings[] = {
    "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "nearest", "linear", "cubic", "bilinear", "half_pixel",
    "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize", "half_pixel_symmetric",
    "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "forward", "reverse", "bidirectional", "Sigmoid",
    "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "Affine", "Elu", "Softsign", "Softplus", "ScaledTanh",
    "ThresholdedRelu", "constant", "reflect", "edge", "wrap", "DCR", "CRD", "not_larger", "not_smaller", "stretch",
    "", "bogus"};
const float kFloats[] = {0.f, 1.f, -1.f, 0.5f, 1e-5f, 2.f, 6.f, -0.f, 1e30f, std::numeric_limits<float>::quiet_NaN(),
                         std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
const int64_t kInts[] = {0, 1, -1, 2, 3, -2, 4, -3, 5, 8, 16, int64_t{1} << 31, std::numeric_limits<int64_t>::max(),
                         std::numeric_limits<int64_t>::min(), int64_t{1} << 40};

int64_t FuzzInt(FuzzedDataProvider& fdp) {
  if (fdp.ConsumeBool()) return fdp.ConsumeIntegralInRange<int64_t>(-3, 6);
  return fdp.PickValueInArray(kInts);
}
float FuzzFloat(FuzzedDataProvider& fdp) {
  if (fdp.ConsumeBool()) return fdp.PickValueInArray(kFloats);
  return fdp.ConsumeFloatingPointInRange<float>(-10.f, 10.f);
}

int PickType(FuzzedDataProvider& fdp, uint64_t types) {
  std::vector<int> bits;
  for (int b = 1; b < 64; ++b)
    if ((types >> b) & 1 && ElemSize(b) != 0) bits.push_back(b);
  // Now and then a type outside the registration: Anvil must decline it cleanly.
  if (bits.empty() || fdp.ConsumeIntegralInRange(0, 15) == 0) {
    static const int any[] = {1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 16};
    return fdp.PickValueInArray(any);
  }
  return bits[fdp.ConsumeIntegralInRange<size_t>(0, bits.size() - 1)];
}

struct Structured {
  std::string op;
  std::string model;
  std::vector<RunInput> inputs;
  std::string what;
};

// The structured decoder: a one-node model of a row of Anvil's kernel list.
std::optional<Structured> Decode(FuzzedDataProvider& fdp) {
  const OpRow& row = kOps[fdp.ConsumeIntegralInRange<size_t>(0, kOps.size() - 1)];
  int top = row.domain[0] ? std::min(row.until, 1 << 20) : std::min(row.until, kMaxOpset);
  if (row.since > top) return std::nullopt;
  int version = row.since + fdp.ConsumeIntegralInRange(0, std::min(top - row.since, 64));
  Structured out;
  out.op = row.op;
  out.what = std::string(row.op) + "-" + std::to_string(version);

  std::map<std::string, int> tparam_type;
  auto type_of = [&](const Param& p) {
    auto it = tparam_type.find(p.tparam);
    if (it != tparam_type.end()) return it->second;
    int t = PickType(fdp, p.types);
    tparam_type[p.tparam] = t;
    return t;
  };

  fuzz::Graph g;
  std::vector<std::string> node_inputs;
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < row.inputs.size(); ++i) {
    const Param& p = row.inputs[i];
    int count = 1;
    if (p.option == 1 && !fdp.ConsumeBool()) count = 0;
    if (p.option == 2) count = fdp.ConsumeIntegralInRange(1, 4);
    if (count == 0) {
      node_inputs.push_back("");
      continue;
    }
    for (int c = 0; c < count; ++c) {
      std::string name = "x" + std::to_string(node_inputs.size());
      int type = type_of(p);
      std::vector<int64_t> shape;
      int how = shapes.empty() ? 0 : fdp.ConsumeIntegralInRange(0, 4);
      if (how == 1) {
        shape = shapes[0];  // same shape as the first input
      } else if (how == 2) {
        shape = shapes[0];  // a broadcastable suffix, with ones
        size_t drop = fdp.ConsumeIntegralInRange<size_t>(0, shape.size());
        shape.erase(shape.begin(), shape.begin() + drop);
        for (auto& d : shape)
          if (fdp.ConsumeBool()) d = 1;
      } else if (how == 3) {
        shape = {static_cast<int64_t>(shapes[0].size())};  // a 1-D "axes/shape/pads"-like tensor
      } else {
        int rank = fdp.ConsumeIntegralInRange(0, fdp.ConsumeBool() ? 4 : 6);
        for (int r = 0; r < rank; ++r) shape.push_back(fdp.ConsumeIntegralInRange<int64_t>(0, fdp.ConsumeBool() ? 4 : 33));
      }
      int64_t n = 1;
      for (auto& d : shape) {
        if (n * std::max<int64_t>(d, 1) > kMaxStructuredElems) d = 1;
        n *= d;
      }
      shapes.push_back(shape);
      std::string bytes = Contents(fdp, type, n);
      if (fdp.ConsumeIntegralInRange(0, 2) == 0) {
        // Excluded: ORT 1.29's own CPU kernels crash on an empty initializer of rank > 1 (e.g.
        // ReduceMax's axes of shape [3, 0]: a memcpy from address 0 inside libonnxruntime, with
        // no Anvil in the session). Empty initializers are made 1-D.
        if (n == 0 && shape.size() > 1) shape = {0};
        // Excluded: ORT 1.29 aborts in session creation (its OneHot shape inference indexes an
        // empty `values`/`depth` initializer: a std::vector assertion) with no Anvil involved.
        if (std::strcmp(row.op, "OneHot") == 0 && i >= 1 && n == 0) {
          shape = {i == 2 ? 2 : 1};
          n = shape[0];
          bytes = Contents(fdp, type, n);
        }
        g.initializers.push_back(fuzz::Tensor(name, type, shape, bytes));
      } else {
        std::optional<std::vector<int64_t>> declared = shape;
        int decl = fdp.ConsumeIntegralInRange(0, 3);
        if (decl == 1) {
          for (auto& d : *declared)
            if (fdp.ConsumeBool()) d = -1;
        } else if (decl == 2) {
          declared.reset();  // rank unknown
        }
        g.inputs.push_back(fuzz::ValueInfo(name, type, declared));
        out.inputs.push_back(RunInput{name, type, shape, bytes});
      }
      node_inputs.push_back(name);
    }
  }
  while (!node_inputs.empty() && node_inputs.back().empty()) node_inputs.pop_back();

  std::vector<std::string> node_outputs;
  for (const Param& p : row.outputs) {
    int count = 1;
    if (p.option == 1 && !fdp.ConsumeBool()) count = 0;
    if (p.option == 2) count = fdp.ConsumeIntegralInRange(1, 3);
    if (count == 0) node_outputs.push_back("");
    for (int c = 0; c < count; ++c) {
      std::string name = "y" + std::to_string(node_outputs.size());
      node_outputs.push_back(name);
      g.outputs.push_back(fuzz::NameOnlyValueInfo(name));
    }
  }
  while (!node_outputs.empty() && node_outputs.back().empty()) node_outputs.pop_back();

  std::vector<fuzz::Attribute> attrs;
  size_t rank0 = shapes.empty() ? 0 : shapes[0].size();
  for (const AttrSpec& spec : row.attrs) {
    if (!spec.required && fdp.ConsumeBool()) continue;
    fuzz::Attribute a;
    a.name = spec.name;
    a.type = spec.type;
    // A list's length: often tied to the first input's rank (perm, axes, pads, kernel_shape).
    auto list_len = [&]() -> size_t {
      switch (fdp.ConsumeIntegralInRange(0, 4)) {
        case 0: return rank0;
        case 1: return rank0 >= 2 ? rank0 - 2 : 0;
        case 2: return rank0 >= 2 ? 2 * (rank0 - 2) : 0;
        case 3: return 2 * rank0;
        default: return fdp.ConsumeIntegralInRange<size_t>(0, 6);
      }
    };
    switch (spec.type) {
      case fuzz::kAttrFloat: a.f = FuzzFloat(fdp); break;
      case fuzz::kAttrInt:
        a.i = FuzzInt(fdp);
        // Excluded: ORT 1.29 crashes (SEGV in its GatherND shape inference at session creation,
        // std::terminate in its CPU kernel) on a negative batch_dims, with no Anvil involved.
        if (std::strcmp(row.op, "GatherND") == 0 && a.i < 0) a.i = 0;
        // Excluded: ORT 1.29 crashes (SEGV in its LayerNormalization shape inference at session
        // creation, CPU EP alone) on an axis outside int32, e.g. 2^31; 1.32 rejects it with an error.
        if (std::strcmp(row.op, "LayerNormalization") == 0 && (a.i > std::numeric_limits<int32_t>::max() || a.i < std::numeric_limits<int32_t>::min())) a.i = -1;
        // Excluded: ORT 1.29 divides by zero (SIGFPE in its DepthToSpace/SpaceToDepth shape
        // inference, CPU EP alone) when blocksize * blocksize overflows, e.g. 2^40; 1.32 rejects it.
        if ((std::strcmp(row.op, "DepthToSpace") == 0 || std::strcmp(row.op, "SpaceToDepth") == 0) &&
            (a.i > (int64_t{1} << 20) || a.i < -(int64_t{1} << 20)))
          a.i = 2;
        // Excluded: ORT 1.29 aborts (a std::vector bounds assertion in its Split kernel, CPU EP
        // alone) when num_outputs is smaller than the node's output count, e.g. 1 for 2 outputs.
        if (std::strcmp(row.op, "Split") == 0 && a.name == "num_outputs" && a.i < static_cast<int64_t>(node_outputs.size()))
          a.i = static_cast<int64_t>(node_outputs.size());
        // Excluded: ORT 1.29 divides by zero (SIGFPE in its Attention kernel, CPU EP alone) when
        // q_num_heads or kv_num_heads is 0.
        if (std::strcmp(row.op, "Attention") == 0 && (a.name == "q_num_heads" || a.name == "kv_num_heads") && a.i == 0)
          a.i = 1;
        break;
      case fuzz::kAttrString:
        a.s = fdp.ConsumeIntegralInRange(0, 7) == 0 ? fdp.ConsumeRandomLengthString(8) : fdp.PickValueInArray(kStrings);
        break;
      case fuzz::kAttrFloats: {
        size_t n = list_len();
        for (size_t k = 0; k < n; ++k) a.floats.push_back(FuzzFloat(fdp));
        break;
      }
      case fuzz::kAttrInts: {
        size_t n = list_len();
        bool perm = fdp.ConsumeBool();
        for (size_t k = 0; k < n; ++k) a.ints.push_back(perm ? static_cast<int64_t>(n - 1 - k) : FuzzInt(fdp));
        break;
      }
      case fuzz::kAttrStrings: {
        size_t n = fdp.ConsumeIntegralInRange<size_t>(0, 3);
        for (size_t k = 0; k < n; ++k) a.strings.push_back(fdp.PickValueInArray(kStrings));
        break;
      }
      case fuzz::kAttrTensor: {
        static const int types[] = {1, 6, 7, 9, 11, 2, 3, 10};
        int type = fdp.PickValueInArray(types);
        std::vector<int64_t> dims;
        if (fdp.ConsumeBool()) dims.push_back(fdp.ConsumeIntegralInRange<int64_t>(0, 3));
        int64_t n = dims.empty() ? 1 : dims[0];
        a.t = fuzz::Tensor("", type, dims, Contents(fdp, type, n));
        break;
      }
      default:
        // GRAPH / GRAPHS attributes (If, Loop, Scan bodies) are not generated: those ops are
        // fuzzed through mutated models (the corpus has If/Loop/Scan graphs).
        continue;
    }
    attrs.push_back(std::move(a));
  }

  g.nodes.push_back(fuzz::Node(row.op, row.domain, node_inputs, node_outputs, attrs));
  std::vector<std::pair<std::string, int>> opsets;
  if (row.domain[0]) {
    opsets.push_back({row.domain, version});
    opsets.push_back({"", kMaxOpset});
  } else {
    opsets.push_back({"", version});
  }
  out.model = fuzz::Model(g, opsets);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_verbose = std::getenv("ANVIL_FUZZ_VERBOSE") != nullptr;
  g_dump = std::getenv("ANVIL_FUZZ_DUMP");
  g_no_anvil = std::getenv("ANVIL_FUZZ_NO_ANVIL") != nullptr;
  const char* lib = std::getenv("ANVIL_FUZZ_LIB");
  if (!lib) lib = ANVIL_FUZZ_LIB;
  g_env = new Ort::Env(g_verbose ? ORT_LOGGING_LEVEL_WARNING : ORT_LOGGING_LEVEL_FATAL, "anvil_fuzz");
  g_env->RegisterExecutionProviderLibrary("anvil_fuzz", lib);
  for (const auto& d : g_env->GetEpDevices())
    if (std::string(d.EpName()) == ANVIL_EP_NAME) g_devices.push_back(d);
  if (g_devices.empty()) {
    std::fprintf(stderr, "fuzz: no %s device from %s\n", ANVIL_EP_NAME, lib);
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0];
  int threads = 1 + ((mode >> 1) & 3);
#ifdef ANVIL_FUZZ_KERNEL_ONLY
  bool structured = true;
#else
  bool structured = (mode & 1) != 0;
#endif
  if (!structured) {
    std::string model(reinterpret_cast<const char*>(data + 1), size - 1);
    if (g_dump) std::ofstream(g_dump, std::ios::binary).write(model.data(), static_cast<std::streamsize>(model.size()));
    int opt = (mode >> 3) & 1 ? ORT_ENABLE_ALL : ORT_DISABLE_ALL;
    Session(model, /*fallback=*/true, threads, opt, nullptr);
    Session(model, /*fallback=*/false, threads, opt, nullptr);
    return 0;
  }
  FuzzedDataProvider fdp(data + 1, size - 1);
  auto s = Decode(fdp);
  if (!s) return 0;
  Log("decoded: %s\n", s->what);
  if (g_dump) std::ofstream(g_dump, std::ios::binary).write(s->model.data(), static_cast<std::streamsize>(s->model.size()));
  // ORT's optimizers off: constant folding would run an all-constant node on ORT's CPU EP.
#ifdef ANVIL_FUZZ_KERNEL_ONLY
  Session(s->model, /*fallback=*/false, threads, ORT_DISABLE_ALL, &s->inputs);
#else
  // The fallback session only when Anvil took the node (the strict session was created): a node
  // Anvil declines runs on ORT's CPU EP, which is ORT's code, and ORT 1.29's own CPU kernels crash
  // at Run on decoder inputs, with no Anvil in the session (ANVIL_FUZZ_NO_ANVIL=1):
  //   ScatterND with empty data, indices and updates (SIGFPE: an integer division by zero);
  //   ConvInteger with int8 inputs of unknown rank (std::terminate);
  //   GatherND with batch_dims = INT64_MIN (std::terminate);
  //   ReverseSequence (std::terminate).
  // So these ops stay out of it even when Anvil takes them (ORT's constant folding may run them).
  bool strict = Session(s->model, /*fallback=*/false, threads, ORT_DISABLE_ALL, &s->inputs);
  if (strict && s->op != "ScatterND" && s->op != "ConvInteger" && s->op != "GatherND" && s->op != "ReverseSequence")
    Session(s->model, /*fallback=*/true, threads, (mode >> 3) & 1 ? ORT_ENABLE_ALL : ORT_DISABLE_ALL, &s->inputs);
#endif
  return 0;
}
