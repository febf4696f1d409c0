// anvil_run: runs ONNX models on Anvil (a plugin EP for ONNX Runtime) and checks them against ORT's
// own CPU EP: outputs, node placement, latency. See Usage() in args.cc.
#include <anvil/anvil.h>
#include <onnxruntime_cxx_api.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "profile.h"
#include "report.h"
#include "tensor_io.h"

namespace fs = std::filesystem;

namespace anvil_run {
namespace {

constexpr int kBenchRound = 5;  // timed runs per side and round in --bench


constexpr const char* kRegistrationName = "anvil";
constexpr const char* kCpuEpName = "CPUExecutionProvider";
constexpr int64_t kDefaultDim = 64;

// ---- small helpers ----------------------------------------------------------------------------

std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// ORT's messages may carry its source location and a nested status prefix
// ("/onnxruntime_src/...cc:70 <function> Error creating execution provider: [ONNXRuntimeError] : 1 : FAIL : msg");
// keep the innermost message.
// Drops ORT's "/onnxruntime_src/<file>:<line> <function signature> " prefixes.
std::string StripSourceLocations(std::string s) {
  const std::string tag = "/onnxruntime_src/";
  for (size_t at = s.find(tag); at != std::string::npos; at = s.find(tag, at)) {
    size_t p = s.find(' ', at);
    const size_t paren = s.find('(', at);
    if (p == std::string::npos || paren == std::string::npos) break;
    int depth = 0;
    for (p = paren; p < s.size(); ++p) {
      if (s[p] == '(') ++depth;
      if (s[p] == ')' && --depth == 0) break;
    }
    if (p >= s.size()) break;
    ++p;
    for (const char* qual : {" const", " noexcept"})
      if (s.compare(p, std::strlen(qual), qual) == 0) p += std::strlen(qual);
    while (p < s.size() && s[p] == ' ') ++p;
    s.erase(at, p - at);
  }
  return s;
}

std::string CleanOrtMessage(const std::string& raw) {
  std::string s = StripSourceLocations(OneLine(raw));
  const std::string marker = "[ONNXRuntimeError] : ";
  const size_t m = s.rfind(marker);
  if (m != std::string::npos) {
    size_t p = m + marker.size();
    for (int field = 0; field < 2 && p != std::string::npos; ++field) {  // "<code> : <CODE NAME> : "
      p = s.find(" : ", p);
      if (p != std::string::npos) p += 3;
    }
    if (p != std::string::npos && p < s.size()) s = s.substr(p);
  }
  return s;
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string ExecutableDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

std::string CacheDir() {
  if (const char* c = std::getenv("ANVIL_CACHE"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/anvil";
}

std::string SafeFileName(const std::string& name) {
  std::string out = name.empty() ? "output" : name;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  if (out == "." || out == "..") out = "_";
  return out;
}

// The ORT library the process loaded must offer the API version the runner was compiled for.
void CheckOrtVersion() {
  const OrtApiBase* base = OrtGetApiBase();
  // An older ORT prints its own complaint to stderr from GetApi(); keep stderr to our one line.
  std::fflush(stderr);
  const int saved = dup(2);
  const int devnull = open("/dev/null", O_WRONLY);
  if (saved >= 0 && devnull >= 0) dup2(devnull, 2);
  const OrtApi* api = base->GetApi(ORT_API_VERSION);
  std::fflush(stderr);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
  if (devnull >= 0) close(devnull);
  if (api == nullptr) {
    const char* v = base->GetVersionString();
    throw RunError(std::string("ONNX Runtime ") + (v ? v : "of unknown version") +
                   " is too old: anvil_run and Anvil need ONNX Runtime 1." + std::to_string(ORT_API_VERSION) +
                   ".0 or newer (API version " + std::to_string(ORT_API_VERSION) + ")");
  }
}

// ---- plugin library and devices ---------------------------------------------------------------

std::string ResolveLibrary(const Options& o) {
  std::string path = o.lib;
  if (path.empty()) {
    const std::string next_to_exe = ExecutableDir() + "/libanvil_ep.so";
    if (fs::exists(next_to_exe)) {
      path = next_to_exe;
    } else if (const char* env = std::getenv("ANVIL_LIB"); env && *env) {
      path = env;
    } else {
      throw RunError("Anvil plugin library not found: no " + next_to_exe + " and ANVIL_LIB is not set (use --lib PATH)");
    }
  }
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw RunError("Anvil plugin library not found: " + path + " (use --lib PATH or set ANVIL_LIB)");
  return fs::absolute(path).lexically_normal().string();
}

std::string DeviceTypeName(OrtHardwareDeviceType t) {
  switch (t) {
    case OrtHardwareDeviceType_CPU: return "CPU";
    case OrtHardwareDeviceType_GPU: return "GPU";
    case OrtHardwareDeviceType_NPU: return "NPU";
    default: return "type " + std::to_string(static_cast<int>(t));
  }
}

std::string PairsString(Ort::ConstKeyValuePairs kv) {
  if (kv == nullptr) return "(none)";
  const auto map = kv.GetKeyValuePairs();
  std::map<std::string, std::string> sorted(map.begin(), map.end());
  std::vector<std::string> parts;
  for (const auto& [k, v] : sorted) parts.push_back(k + "=" + v);
  return parts.empty() ? "(none)" : Join(parts, ", ");
}

void PrintDevices(const std::vector<Ort::ConstEpDevice>& devices, bool full) {
  if (!full) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < devices.size(); ++i) {
      const auto hw = devices[i].Device();
      parts.push_back("[" + std::to_string(i) + "] " + devices[i].EpName() + " on " + DeviceTypeName(hw.Type()) +
                      " (" + hw.Vendor() + ")");
    }
    std::printf("EP devices: %s\n", Join(parts, ", ").c_str());
    return;
  }
  std::printf("EP devices (%zu):\n", devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    const auto hw = d.Device();
    std::printf("  [%zu] %s (EP vendor %s)\n", i, d.EpName(), d.EpVendor());
    std::printf("      device:          %s, vendor %s, vendor id 0x%x, device id 0x%x\n",
                DeviceTypeName(hw.Type()).c_str(), hw.Vendor(), hw.VendorId(), hw.DeviceId());
    std::printf("      device metadata: %s\n", PairsString(hw.Metadata()).c_str());
    std::printf("      EP metadata:     %s\n", PairsString(d.EpMetadata()).c_str());
    std::printf("      EP options:      %s\n", PairsString(d.EpOptions()).c_str());
  }
}

// Selection delegate: every device of Anvil's EP, nothing else.
OrtStatus* ORT_API_CALL SelectAnvil(const OrtEpDevice** devices, size_t num_devices, const OrtKeyValuePairs*,
                                    const OrtKeyValuePairs*, const OrtEpDevice** selected, size_t max_selected,
                                    size_t* num_selected, void*) noexcept {
  *num_selected = 0;
  const OrtApi& api = Ort::GetApi();
  for (size_t i = 0; i < num_devices && *num_selected < max_selected; ++i)
    if (std::strcmp(api.EpDevice_EpName(devices[i]), ANVIL_EP_NAME) == 0) selected[(*num_selected)++] = devices[i];
  if (*num_selected == 0) {
    const std::string msg = "anvil_run delegate: no " ANVIL_EP_NAME " device among the " +
                            std::to_string(num_devices) + " offered";
    return api.CreateStatus(ORT_FAIL, msg.c_str());
  }
  return nullptr;
}

// ---- model inputs -----------------------------------------------------------------------------

struct InputInfo {
  std::string name;
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  std::vector<int64_t> shape;          // -1 (or 0 from some exporters) for unknown dims
  std::vector<std::string> symbolic;   // symbolic names ("" if none)
};

std::string ModelShapeString(const InputInfo& in) {
  std::string s = "[";
  for (size_t i = 0; i < in.shape.size(); ++i) {
    s += i ? "," : "";
    if (in.shape[i] > 0) s += std::to_string(in.shape[i]);
    else s += in.symbolic[i].empty() ? "?" : in.symbolic[i];
  }
  return s + "]";
}

std::vector<InputInfo> GetInputs(const Ort::Session& session) {
  std::vector<InputInfo> inputs;
  Ort::AllocatorWithDefaultOptions alloc;
  for (size_t i = 0; i < session.GetInputCount(); ++i) {
    InputInfo in;
    in.name = session.GetInputNameAllocated(i, alloc).get();
    Ort::TypeInfo ti = session.GetInputTypeInfo(i);
    if (ti.GetONNXType() != ONNX_TYPE_TENSOR)
      throw RunError("input '" + in.name + "' is not a tensor; anvil_run feeds tensors only");
    auto tinfo = ti.GetTensorTypeAndShapeInfo();
    in.type = tinfo.GetElementType();
    in.shape = tinfo.GetShape();
    for (const char* s : tinfo.GetSymbolicDimensions()) in.symbolic.emplace_back(s ? s : "");
    in.symbolic.resize(in.shape.size());
    inputs.push_back(std::move(in));
  }
  return inputs;
}

std::vector<std::string> OutputNames(const Ort::Session& session) {
  std::vector<std::string> names;
  Ort::AllocatorWithDefaultOptions alloc;
  for (size_t i = 0; i < session.GetOutputCount(); ++i) names.push_back(session.GetOutputNameAllocated(i, alloc).get());
  return names;
}

void CheckShape(const InputInfo& in, const std::vector<int64_t>& shape, const std::string& source) {
  bool ok = shape.size() == in.shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = in.shape[i] <= 0 || in.shape[i] == shape[i];
  if (!ok)
    throw RunError("input '" + in.name + "' " + source + " has shape " + ShapeString(shape) +
                   "; the model expects " + ModelShapeString(in));
}

// A synthetic document page for float [N,3,H,W] image inputs: a light, slightly noisy background
// with dark word-like bars, normalised like PaddleOCR ((x / 255 - mean) / std per channel). On
// uniform noise the PaddleOCR detector outputs ~1e-4 everywhere, which makes agreement trivial.
bool FillPage(HostTensor& t, std::mt19937_64& rng) {
  if (t.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t.shape.size() != 4 || t.shape[1] != 3) return false;
  const int64_t n = t.shape[0], h = t.shape[2], w = t.shape[3];
  std::vector<double> gray(static_cast<size_t>(n * h * w));
  std::normal_distribution<double> noise(235.0, 4.0);
  for (double& v : gray) v = noise(rng);
  auto uniform = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi - 1))(rng); };
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t y = h * 8 / 100; y < h - 12;) {
      const int64_t lh = uniform(std::max<int64_t>(8, h / 24), std::max<int64_t>(12, h / 12));
      for (int64_t x = uniform(2, std::max<int64_t>(3, w / 10)); x < w - 10;) {
        const int64_t ww = uniform(lh, lh * 5);
        const double ink = std::uniform_real_distribution<double>(10, 60)(rng);
        for (int64_t yy = y; yy < std::min(h, y + lh); ++yy)
          for (int64_t xx = x; xx < std::min(w - 2, x + ww); ++xx) gray[(b * h + yy) * w + xx] = ink;
        x += ww + uniform(std::max<int64_t>(1, lh / 2), lh * 2);
      }
      y += lh + uniform(lh, lh * 3);
    }
  }
  const double mean[3] = {0.485, 0.456, 0.406}, std_dev[3] = {0.229, 0.224, 0.225};
  auto* out = reinterpret_cast<float*>(t.data.data());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < h * w; ++i)
        out[(b * 3 + c) * h * w + i] = static_cast<float>((gray[b * h * w + i] / 255.0 - mean[c]) / std_dev[c]);
  return true;
}

void FillRandom(HostTensor& t, std::mt19937_64& rng) {
  const size_t n = t.ElementCount();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<int> small(0, 3), bit(0, 1);
  auto put = [&](size_t i, auto v) { std::memcpy(t.data.data() + i * sizeof(v), &v, sizeof(v)); };
  for (size_t i = 0; i < n; ++i) {
    switch (t.type) {
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: put(i, static_cast<float>(unit(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: put(i, unit(rng)); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: {
        // Uniform over the 1024 half values in [0,1) of the form k/1024 (exactly representable).
        const float f = static_cast<float>(static_cast<int>(unit(rng) * 1024)) / 1024.f;
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        const uint16_t h = f == 0.f ? 0 : static_cast<uint16_t>(((((bits >> 23) & 0xff) - 112) << 10) | ((bits >> 13) & 0x3ff));
        put(i, h);
        break;
      }
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: put(i, static_cast<uint8_t>(bit(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: put(i, static_cast<int64_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: put(i, static_cast<int32_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: put(i, static_cast<int16_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: put(i, static_cast<int8_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: put(i, static_cast<uint64_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: put(i, static_cast<uint32_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: put(i, static_cast<uint16_t>(small(rng))); break;
      case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: put(i, static_cast<uint8_t>(small(rng))); break;
      default: break;
    }
  }
}

// The inputs for one model: from files where given, else generated.
std::vector<HostTensor> PrepareInputs(const Options& o, const std::vector<InputInfo>& infos,
                                      const std::map<std::string, std::vector<int64_t>>& job_shapes) {
  std::vector<std::string> names;
  for (const InputInfo& in : infos) names.push_back(in.name);
  auto index_of = [&](const std::string& name) -> size_t {
    for (size_t i = 0; i < infos.size(); ++i)
      if (infos[i].name == name) return i;
    throw RunError("'" + name + "' is not an input of the model; its inputs: " + Join(names, ", "));
  };
  std::vector<std::optional<HostTensor>> loaded(infos.size());
  std::vector<std::string> source(infos.size());
  for (const auto& [given_name, file] : o.inputs) {
    std::string pb_name;
    HostTensor t;
    try {
      t = ReadTensorFile(file, &pb_name);
    } catch (const std::runtime_error& e) {
      throw RunError(std::string("input file ") + e.what());
    }
    std::string name = given_name;
    if (name.empty()) name = pb_name;
    if (name.empty()) {
      if (infos.size() != 1)
        throw RunError("--input " + file + " does not say which input it is and the model has " +
                       std::to_string(infos.size()) + " inputs (" + Join(names, ", ") + "); use --input NAME=FILE");
      name = infos[0].name;
    }
    const size_t i = index_of(name);
    if (loaded[i]) throw RunError("input '" + name + "' is given twice");
    const InputInfo& in = infos[i];
    if (t.type != in.type)
      throw RunError("input '" + name + "' from " + file + " is " + TypeName(t.type) + "; the model expects " +
                     TypeName(in.type));
    CheckShape(in, t.shape, "from " + file);
    source[i] = "from " + file;
    loaded[i] = std::move(t);
  }
  for (const auto& [name, shape] : o.shapes) index_of(name);  // unknown names are errors

  std::vector<HostTensor> out;
  std::map<std::string, int64_t> used_dims;  // symbolic dims picked for generated inputs
  for (size_t i = 0; i < infos.size(); ++i) {
    const InputInfo& in = infos[i];
    if (loaded[i]) {
      std::printf("  input  %-16s %-8s %-18s %s\n", ("'" + in.name + "'").c_str(), TypeName(in.type).c_str(),
                  ShapeString(loaded[i]->shape).c_str(), source[i].c_str());
      out.push_back(std::move(*loaded[i]));
      continue;
    }
    if (ElementSize(in.type) == 0)
      throw RunError("input '" + in.name + "' is " + TypeName(in.type) + ", which anvil_run cannot generate; give it with --input");
    HostTensor t;
    t.type = in.type;
    std::vector<std::string> notes;
    const std::vector<int64_t>* given = nullptr;
    if (auto it = o.shapes.find(in.name); it != o.shapes.end()) given = &it->second;
    else if (auto jt = job_shapes.find(in.name); jt != job_shapes.end()) given = &jt->second;
    if (given) {
      t.shape = *given;
      CheckShape(in, t.shape, "from --shape");
    } else {
      for (size_t d = 0; d < in.shape.size(); ++d) {
        if (in.shape[d] > 0) {
          t.shape.push_back(in.shape[d]);
          continue;
        }
        const std::string& sym = in.symbolic[d];
        int64_t v;
        std::string why;
        if (!sym.empty() && o.dims.count(sym)) {
          v = o.dims.at(sym);
          why = "--dim";
        } else if (!sym.empty() && used_dims.count(sym)) {
          v = used_dims.at(sym);
          why = "as before";
        } else if (d == 0) {
          v = o.batch;
          why = "batch";
        } else {
          v = kDefaultDim;
          why = "default";
        }
        if (!sym.empty()) used_dims[sym] = v;
        notes.push_back((sym.empty() ? "dim " + std::to_string(d) : sym) + "=" + std::to_string(v) + " (" + why + ")");
        t.shape.push_back(v);
      }
    }
    t.data.resize(t.ElementCount() * ElementSize(t.type));
    std::mt19937_64 rng(o.seed * 1000003u + i);
    const bool page = o.page && FillPage(t, rng);
    if (!page) FillRandom(t, rng);
    std::string how = std::string(page ? "synthetic page" : "generated") + " (seed " + std::to_string(o.seed) + ")";
    if (!notes.empty()) how += ": " + Join(notes, ", ");
    std::printf("  input  %-16s %-8s %-18s %s\n", ("'" + in.name + "'").c_str(), TypeName(in.type).c_str(),
                ShapeString(t.shape).c_str(), how.c_str());
    out.push_back(std::move(t));
  }
  for (const auto& [name, v] : o.dims)
    if (!used_dims.count(name)) {
      bool known = false;
      for (const InputInfo& in : infos)
        for (const std::string& s : in.symbolic) known |= s == name;
      if (!known) throw RunError("--dim " + name + ": the model's inputs have no dimension named '" + name + "'");
    }
  return out;
}

std::vector<Ort::Value> MakeValues(std::vector<HostTensor>& tensors) {
  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<Ort::Value> values;
  for (HostTensor& t : tensors)
    values.push_back(Ort::Value::CreateTensor(mem, t.data.data(), t.data.size(), t.shape.data(), t.shape.size(), t.type));
  return values;
}

HostTensor ToHost(const Ort::Value& v, const std::string& name) {
  if (!v.IsTensor()) throw RunError("output '" + name + "' is not a tensor; anvil_run handles tensors only");
  auto info = v.GetTensorTypeAndShapeInfo();
  HostTensor t;
  t.type = info.GetElementType();
  t.shape = info.GetShape();
  const size_t esize = ElementSize(t.type);
  if (esize == 0) throw RunError("output '" + name + "' is " + TypeName(t.type) + ", which anvil_run cannot handle");
  t.data.resize(info.GetElementCount() * esize);
  if (!t.data.empty()) std::memcpy(t.data.data(), v.GetTensorRawData(), t.data.size());
  return t;
}

// ---- sessions ---------------------------------------------------------------------------------

struct Context {
  const Options& o;
  Ort::Env& env;
  std::vector<Ort::ConstEpDevice> anvil_devices;
  int threads = 1;
};

struct Placement {
  bool known = false;
  std::string why_unknown;
  size_t total = 0;
  size_t on_anvil = 0;
  std::map<std::string, std::map<std::string, size_t>> per_ep_op;  // ep -> op type -> count
  std::vector<std::string> elsewhere;                              // "name (OpType on EP)"
};

Placement GetPlacement(const Ort::Session& session) {
  Placement p;
#if ORT_API_VERSION >= 24
  try {
    for (const auto& sub : session.GetEpGraphAssignmentInfo()) {
      const std::string ep = sub.GetEpName();
      for (const auto& node : sub.GetNodes()) {
        ++p.total;
        std::string op = node.GetOperatorType();
        const std::string domain = node.GetDomain();
        if (!domain.empty() && domain != "ai.onnx") op = domain + "." + op;
        ++p.per_ep_op[ep][op];
        if (ep == ANVIL_EP_NAME) ++p.on_anvil;
        else p.elsewhere.push_back("'" + node.GetName() + "' (" + op + " on " + ep + ")");
      }
    }
    p.known = true;
  } catch (const Ort::Exception& e) {
    p.why_unknown = CleanOrtMessage(e.what());
  }
#else
  p.why_unknown = "this ONNX Runtime has no Session_GetEpGraphAssignmentInfo";
#endif
  return p;
}

Ort::SessionOptions AnvilSessionOptions(Context& ctx, bool allow_fallback) {
  const Options& o = ctx.o;
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(ctx.threads);
  so.AddConfigEntry("session.record_ep_graph_assignment_info", "1");
  if (!allow_fallback) so.AddConfigEntry("session.disable_cpu_ep_fallback", "1");
  std::unordered_map<std::string, std::string> ep_options;
  // ORT does not show a plugin EP the session's intra-op thread count (SetIntraOpNumThreads), so
  // the runner passes its --threads to Anvil too, unless --ep-option threads=... says otherwise.
  ep_options[ANVIL_OPTION_THREADS] = std::to_string(ctx.threads);
  for (const auto& [k, v] : o.ep_options) ep_options[k] = v;
  switch (o.selection) {
    case Selection::kExplicit:
      so.AppendExecutionProvider_V2(ctx.env, ctx.anvil_devices, ep_options);
      break;
    case Selection::kPolicy:
    case Selection::kDelegate:
      for (const auto& [k, v] : ep_options) so.AddConfigEntry((ANVIL_OPTION_PREFIX + k).c_str(), v.c_str());
      if (o.selection == Selection::kPolicy) so.SetEpSelectionPolicy(o.policy);
      else so.SetEpSelectionPolicy(SelectAnvil, nullptr);
      break;
  }
  return so;
}

Ort::Session CreateAnvilSession(Context& ctx, const std::string& model, bool allow_fallback) {
  try {
    Ort::SessionOptions so = AnvilSessionOptions(ctx, allow_fallback);
    return Ort::Session(ctx.env, model.c_str(), so);
  } catch (const Ort::Exception& e) {
    const std::string msg = CleanOrtMessage(e.what());
    // Anvil names the option key in its message: a bad --ep-option is a usage error.
    if (msg.find("option '" ANVIL_OPTION_PREFIX) != std::string::npos) throw UsageError("--ep-option: " + msg);
    if (!allow_fallback) {
      // Say which nodes Anvil does not take: a second session with fallback allowed knows.
      std::optional<Placement> p;
      try {
        Ort::SessionOptions so = AnvilSessionOptions(ctx, true);
        Ort::Session probe(ctx.env, model.c_str(), so);
        p = GetPlacement(probe);
      } catch (const Ort::Exception&) {
      }
      if (p && p->known && !p->elsewhere.empty()) {
        std::map<std::string, size_t> ops;
        for (const auto& [ep, by_op] : p->per_ep_op)
          if (ep != ANVIL_EP_NAME)
            for (const auto& [op, n] : by_op) ops[op] += n;
        std::vector<std::string> parts;
        for (const auto& [op, n] : ops) parts.push_back(op + " x" + std::to_string(n));
        throw RunError(std::to_string(p->elsewhere.size()) + " of " + std::to_string(p->total) +
                       " nodes are not supported by Anvil (" + Join(parts, ", ") +
                       ") and CPU fallback is disabled; pass --allow-fallback to run them on ORT's CPU EP");
      }
    }
    throw RunError("creating the Anvil session failed: " + msg);
  }
}

Ort::Session CreateReferenceSession(Context& ctx, const std::string& model) {
  try {
    Ort::SessionOptions so;  // no EP appended: ORT's CPU EP only
    so.SetIntraOpNumThreads(ctx.threads);
    return Ort::Session(ctx.env, model.c_str(), so);
  } catch (const Ort::Exception& e) {
    throw RunError("creating the ORT CPU reference session failed: " + CleanOrtMessage(e.what()));
  }
}

struct Runner {
  Ort::Session& session;
  std::vector<const char*> in_names, out_names;
  std::vector<Ort::Value>& inputs;
  std::vector<Ort::Value> Run() const { return Run(Ort::RunOptions{nullptr}); }
  std::vector<Ort::Value> Run(const Ort::RunOptions& options) const {
    return session.Run(options, in_names.data(), inputs.data(), inputs.size(), out_names.data(), out_names.size());
  }
};

// ---- one model --------------------------------------------------------------------------------

struct Job {
  std::string path;
  std::string label;
  std::map<std::string, std::vector<int64_t>> shapes;  // input shapes set by the job
  std::vector<int64_t> first_input_shape;              // default job: shape of the first input
};

struct Result {
  std::string label;
  bool ok = false;
  Placement placement;
  bool compared = false;
  bool compare_pass = true;
  size_t compare_failures = 0;
  double max_abs = 0, max_rel = 0;
  bool benched = false;
  double median_anvil = 0, median_ort = 0;
};

void PrintPlacement(const Placement& p) {
  if (!p.known) {
    std::printf("placement: unknown (%s)\n", p.why_unknown.c_str());
    return;
  }
  std::printf("placement: %zu of %zu nodes on %s\n", p.on_anvil, p.total, ANVIL_EP_NAME);
  for (const auto& [ep, by_op] : p.per_ep_op) {
    size_t n = 0;
    for (const auto& [op, c] : by_op) n += c;
    std::vector<std::string> parts;
    for (const auto& [op, c] : by_op) parts.push_back(op + " " + std::to_string(c));
    std::printf("  %-24s %4zu nodes: %s\n", ep.c_str(), n, Join(parts, ", ").c_str());
  }
  if (!p.elsewhere.empty()) {
    std::printf("  nodes not on %s (%zu):\n", ANVIL_EP_NAME, p.elsewhere.size());
    for (const std::string& s : p.elsewhere) std::printf("    %s\n", s.c_str());
  }
}

std::string OutputPath(const Options& o, const Job& job, bool several, const std::string& output) {
  fs::path dir = o.output_dir;
  if (several) dir /= SafeFileName(job.label);
  return (dir / (SafeFileName(output) + ".npy")).string();
}

// ---- --profile --------------------------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw RunError("cannot read the profile " + path + ": " + std::strerror(errno));
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

// The profile files ORT wrote for one run: "<prefix>_<timestamp>.json" in `dir`.
std::vector<std::string> ProfileFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix + "_", 0) == 0 && entry.path().extension() == ".json") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ProfileJsonPath(const Options& o, const Job& job, bool several) {
  if (!several) return o.profile_json;
  const fs::path p = o.profile_json;
  return (p.parent_path() / (p.stem().string() + "_" + SafeFileName(job.label) + p.extension().string())).string();
}

// Run-level profiling (RunOptions EnableProfiling) of `runs` runs per side, interleaved, after
// `warmup` plain runs each; ORT writes one JSON file per profiled run into a scratch directory.
void ProfileJob(Context& ctx, const Job& job, bool several, Runner& anvil, Runner& ort) {
  const Options& o = ctx.o;
  const int warmup = o.warmup_set ? o.warmup : 1;
  const int runs = o.repeat_set ? o.repeat : 5;
  char pattern[] = "/tmp/anvil_run_profile_XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw RunError(std::string("cannot make a directory for profiles: ") + std::strerror(errno));
  const fs::path dir = pattern;
  struct RemoveDir {
    fs::path dir;
    ~RemoveDir() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_dir{dir};
  std::vector<RunProfile> anvil_runs, ort_runs;
  Json raw;  // the Anvil side's events, all runs one after the other
  double raw_offset_us = 0;
  try {
    for (int i = 0; i < warmup; ++i) {
      anvil.Run();
      ort.Run();
    }
    for (int i = 0; i < runs; ++i) {
      for (int side = 0; side < 2; ++side) {
        const std::string prefix = (side == 0 ? "anvil_" : "ort_") + std::to_string(i);
        Ort::RunOptions ro;
        ro.EnableProfiling((dir / prefix).c_str());
        (side == 0 ? anvil : ort).Run(ro);
        const std::vector<std::string> files = ProfileFiles(dir, prefix);
        if (files.size() != 1)
          throw RunError("ORT wrote " + std::to_string(files.size()) + " profile files for one run (" + dir.string() +
                         "/" + prefix + "_*.json)");
        const std::string text = ReadFile(files[0]);
        Json profile;
        try {
          profile = ParseJson(text);
          (side == 0 ? anvil_runs : ort_runs).push_back(SummarizeProfile(profile, ANVIL_EP_NAME));
        } catch (const std::runtime_error& e) {
          throw RunError("reading the profile " + files[0] + ": " + e.what());
        }
        if (side == 0 && !o.profile_json.empty()) AppendRun(profile, raw, &raw_offset_us);
      }
    }
  } catch (const Ort::Exception& e) {
    throw RunError("profiled run failed: " + CleanOrtMessage(e.what()));
  }
  const bool own = !anvil_runs.empty() && anvil_runs.front().anvil_events;
  std::printf("profile (%d profiled runs per side after %d warmup, interleaved; per run, the median of "
              "the runs: calls and ms, share of ORT's model_run):\n",
              runs, warmup);
  if (own)
    std::printf("  Anvil ms: inside Anvil's kernels (its own events); node ms: ORT's node events of the same nodes, "
                "measured like ORT ms (ORT/Anvil compares those two)\n");
  else
    std::printf("  no Anvil kernel events in the profile: Anvil ms are ORT's node events\n");
  std::string table = ProfileTable(anvil_runs, ort_runs);
  for (size_t p = 0, q; p < table.size(); p = q + 1) {
    q = table.find('\n', p);
    if (q == std::string::npos) q = table.size();
    std::printf("  %s\n", table.substr(p, q - p).c_str());
  }
  if (const std::string slowest = SlowestNodes(anvil_runs, 10); !slowest.empty()) {
    std::printf("  Anvil's slowest nodes:\n");
    for (size_t p = 0, q; p < slowest.size(); p = q + 1) {
      q = slowest.find('\n', p);
      if (q == std::string::npos) q = slowest.size();
      std::printf("    %s\n", slowest.substr(p, q - p).c_str());
    }
  }
  if (!o.profile_json.empty()) {
    const std::string path = ProfileJsonPath(o, job, several);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw RunError("cannot write the profile " + path + ": " + std::strerror(errno));
    raw.kind = Json::Kind::kArray;
    std::string out = "[\n";
    for (size_t i = 0; i < raw.items.size(); ++i) out += WriteJson(raw.items[i]) + (i + 1 < raw.items.size() ? ",\n" : "\n");
    out += "]\n";
    const bool written = std::fwrite(out.data(), 1, out.size(), f) == out.size();
    if (std::fclose(f) != 0 || !written) throw RunError("cannot write the profile " + path);
    std::printf("  wrote  %s (Anvil's profile of the %d profiled runs)\n", path.c_str(), runs);
  }
}

void RunJob(Context& ctx, const Job& job, bool several, Result& r) {
  const Options& o = ctx.o;
  std::error_code ec;
  if (!fs::exists(job.path, ec)) throw RunError("model file not found: " + job.path);
  if (!fs::is_regular_file(job.path, ec)) throw RunError("model path is not a file: " + job.path);

  Ort::Session anvil = CreateAnvilSession(ctx, job.path, o.allow_fallback);
  r.placement = GetPlacement(anvil);
  const std::vector<InputInfo> infos = GetInputs(anvil);
  std::map<std::string, std::vector<int64_t>> shapes = job.shapes;
  if (!job.first_input_shape.empty() && !infos.empty()) shapes[infos[0].name] = job.first_input_shape;
  std::vector<HostTensor> host_inputs = PrepareInputs(o, infos, shapes);
  std::vector<Ort::Value> inputs = MakeValues(host_inputs);
  const std::vector<std::string> out_names = OutputNames(anvil);

  std::vector<const char*> in_ptrs, out_ptrs;
  for (const InputInfo& in : infos) in_ptrs.push_back(in.name.c_str());
  for (const std::string& n : out_names) out_ptrs.push_back(n.c_str());
  Runner run_anvil{anvil, in_ptrs, out_ptrs, inputs};

  std::vector<Ort::Value> anvil_out;
  try {
    anvil_out = run_anvil.Run();
  } catch (const Ort::Exception& e) {
    throw RunError("running on Anvil failed: " + CleanOrtMessage(e.what()));
  }
  std::vector<HostTensor> anvil_host;
  for (size_t i = 0; i < anvil_out.size(); ++i) {
    anvil_host.push_back(ToHost(anvil_out[i], out_names[i]));
    std::printf("  output %-16s %-8s %s\n", ("'" + out_names[i] + "'").c_str(),
                TypeName(anvil_host.back().type).c_str(), ShapeString(anvil_host.back().shape).c_str());
  }
  if (!o.output_dir.empty()) {
    for (size_t i = 0; i < anvil_host.size(); ++i) {
      const std::string path = OutputPath(o, job, several, out_names[i]);
      std::error_code mk;
      fs::create_directories(fs::path(path).parent_path(), mk);
      if (mk) throw RunError("cannot create output directory " + fs::path(path).parent_path().string() + ": " + mk.message());
      try {
        WriteNpy(path, anvil_host[i]);
      } catch (const std::runtime_error& e) {
        throw RunError(std::string("writing output: ") + e.what());
      }
      std::printf("  wrote  %s\n", path.c_str());
    }
  }
  if (o.placement) PrintPlacement(r.placement);

  std::optional<Ort::Session> reference;
  if (o.compare || o.bench || o.profile) reference.emplace(CreateReferenceSession(ctx, job.path));

  if (o.compare) {
    std::vector<Ort::Value> ref_out;
    try {
      ref_out = Runner{*reference, in_ptrs, out_ptrs, inputs}.Run();
    } catch (const Ort::Exception& e) {
      throw RunError("running on ORT's CPU EP failed: " + CleanOrtMessage(e.what()));
    }
    r.compared = true;
    std::printf("compare with ORT's CPU EP (pass: max abs diff <= atol %g + rtol %g * max |reference|):\n", o.atol,
                o.rtol);
    for (size_t i = 0; i < ref_out.size(); ++i) {
      const HostTensor ref = ToHost(ref_out[i], out_names[i]);
      const Comparison c = Compare(anvil_host[i], ref, o.atol, o.rtol);
      const std::string name = "'" + out_names[i] + "'";
      if (!c.comparable) {
        std::printf("  %-16s FAIL: %s\n", name.c_str(), c.problem.c_str());
        r.compare_pass = false;
        ++r.compare_failures;
        r.max_abs = r.max_rel = INFINITY;
        continue;
      }
      std::string extra = c.nan_mismatches ? Format(", %zu NaN mismatches", c.nan_mismatches) : "";
      std::printf("  %-16s max abs diff %.3e, max rel diff %.3e (relative to max |reference| %.3e)%s  %s\n",
                  name.c_str(), c.max_abs, c.max_rel, c.max_ref, extra.c_str(), c.pass ? "PASS" : "FAIL");
      r.max_abs = std::max(r.max_abs, c.max_abs);
      r.max_rel = std::max(r.max_rel, c.max_rel);
      if (!c.pass) {
        r.compare_pass = false;
        ++r.compare_failures;
      }
    }
    std::printf("compare: %s (%zu of %zu outputs within tolerance)\n", r.compare_pass ? "PASS" : "FAIL",
                ref_out.size() - r.compare_failures, ref_out.size());
  }

  if (o.bench) {
    Runner run_ref{*reference, in_ptrs, out_ptrs, inputs};
    std::vector<double> t_anvil, t_ort;
    using Clock = std::chrono::steady_clock;
    try {
      for (int i = 0; i < o.warmup; ++i) {
        run_anvil.Run();
        run_ref.Run();
      }
      // Interleaved in rounds: each side runs once untimed, then kBenchRound timed runs. The
      // untimed run absorbs what the other side leaves behind: its worker threads still spinning
      // (ORT's pool, OpenMP's team) and, on virtual machines, idle cores that take milliseconds
      // to wake up.
      auto timed = [&](Runner& r, std::vector<double>& out) {
        r.Run();
        for (int k = 0; k < kBenchRound && static_cast<int>(out.size()) < o.repeat; ++k) {
          const auto t0 = Clock::now();
          r.Run();
          out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      };
      while (static_cast<int>(t_anvil.size()) < o.repeat) {
        timed(run_anvil, t_anvil);
        timed(run_ref, t_ort);
      }
    } catch (const Ort::Exception& e) {
      throw RunError("bench run failed: " + CleanOrtMessage(e.what()));
    }
    r.benched = true;
    r.median_anvil = Percentile(t_anvil, 50);
    r.median_ort = Percentile(t_ort, 50);
    std::printf("bench (%d threads each, warmup %d, repeat %d, interleaved Anvil/ORT in rounds of %d):\n",
                ctx.threads, o.warmup, o.repeat, kBenchRound);
    std::printf("  %-12s median %10.3f ms  p90 %10.3f ms\n", "Anvil", r.median_anvil, Percentile(t_anvil, 90));
    std::printf("  %-12s median %10.3f ms  p90 %10.3f ms\n", "ORT CPU EP", r.median_ort, Percentile(t_ort, 90));
    std::printf("  ratio ORT/Anvil %.3g (>1: Anvil is faster)\n", r.median_ort / r.median_anvil);
  }
  if (o.profile) {
    Runner run_ref{*reference, in_ptrs, out_ptrs, inputs};
    ProfileJob(ctx, job, several, run_anvil, run_ref);
  }
  r.ok = true;
}

void PrintSummary(const std::vector<Result>& results) {
  std::vector<std::vector<std::string>> rows = {{"model", "nodes on Anvil", "max abs diff", "max rel diff", "compare",
                                                 "Anvil ms", "ORT CPU ms", "ORT/Anvil"}};
  for (const Result& r : results) {
    std::vector<std::string> row = {r.label};
    row.push_back(r.placement.known ? Format("%zu/%zu", r.placement.on_anvil, r.placement.total) : "-");
    if (!r.ok) {
      row.insert(row.end(), {"-", "-", "error", "-", "-", "-"});
    } else {
      row.push_back(r.compared ? Format("%.2e", r.max_abs) : "-");
      row.push_back(r.compared ? Format("%.2e", r.max_rel) : "-");
      row.push_back(r.compared ? (r.compare_pass ? "PASS" : "FAIL") : "-");
      row.push_back(r.benched ? Format("%.3f", r.median_anvil) : "-");
      row.push_back(r.benched ? Format("%.3f", r.median_ort) : "-");
      row.push_back(r.benched ? Format("%.3g", r.median_ort / r.median_anvil) : "-");
    }
    rows.push_back(std::move(row));
  }
  std::printf("\nsummary:\n%s", FormatTable(rows).c_str());
}

// ---- main -------------------------------------------------------------------------------------

std::vector<Job> DefaultJobs() {
  const std::string dir = CacheDir() + "/models/paddleocr/";
  std::vector<Job> jobs = {
      {dir + "ch_PP-OCRv4_det_infer.onnx", "PP-OCRv4 det", {}, {1, 3, 640, 640}},
      {dir + "ch_PP-OCRv4_rec_infer.onnx", "PP-OCRv4 rec", {}, {1, 3, 48, 320}},
      {dir + "ch_ppocr_mobile_v2.0_cls_infer.onnx", "mobile v2.0 cls", {}, {1, 3, 48, 192}},
  };
  for (const Job& j : jobs)
    if (!fs::exists(j.path))
      throw RunError("PaddleOCR model not found: " + j.path + " (fetch the models with scripts/fetch_models.sh)");
  return jobs;
}

int Main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (o.help) {
    std::fputs(Usage(), stdout);
    return 0;
  }
  CheckOrtVersion();
  const bool default_job = o.models.empty() && !o.list_devices;
  if ((o.warmup_set || o.repeat_set) && !o.bench && !o.profile && !default_job)
    throw UsageError("--warmup and --repeat need --bench or --profile");
  if (default_job) {
    // Every node on Anvil (CPU fallback stays disabled unless --allow-fallback), checked against
    // ORT's CPU EP, timed side by side.
    o.placement = o.compare = o.bench = o.page = true;
    if (!o.warmup_set) o.warmup = 3;
    if (!o.repeat_set) o.repeat = 20;
  }
  if (o.models.empty() && !default_job && !o.inputs.empty()) throw UsageError("--input needs a model");
  std::vector<Job> jobs;
  if (default_job) {
    if (!o.inputs.empty() || !o.shapes.empty()) throw UsageError("--input and --shape need a model argument");
    jobs = DefaultJobs();
  } else {
    for (const std::string& m : o.models) jobs.push_back({m, fs::path(m).stem().string(), {}, {}});
  }
  const std::string lib = ResolveLibrary(o);

  Ort::Env env(o.verbose ? ORT_LOGGING_LEVEL_INFO : ORT_LOGGING_LEVEL_FATAL, "anvil_run");
  try {
    env.RegisterExecutionProviderLibrary(kRegistrationName, lib);
  } catch (const Ort::Exception& e) {
    throw RunError("registering the plugin library " + lib + " failed: " + CleanOrtMessage(e.what()));
  }
  // From here on the library is registered: unregister it on every way out, after the sessions.
  struct Unregister {
    Ort::Env& env;
    bool done = false;
    ~Unregister() {
      if (!done) try {
          env.UnregisterExecutionProviderLibrary(kRegistrationName);
        } catch (...) {
        }
    }
  } unregister{env};

  int rc = 0;
  {
    Context ctx{o, env, {}, 1};
    const std::vector<Ort::ConstEpDevice> devices = env.GetEpDevices();
    for (const auto& d : devices)
      if (std::strcmp(d.EpName(), ANVIL_EP_NAME) == 0) ctx.anvil_devices.push_back(d);
    std::printf("ONNX Runtime %s, Anvil plugin %s\n", Ort::GetVersionString().c_str(), lib.c_str());
    PrintDevices(devices, o.list_devices);
    if (ctx.anvil_devices.empty()) throw RunError("the plugin library " + lib + " offers no " ANVIL_EP_NAME " device");

    if (!jobs.empty()) {
      ctx.threads = o.threads;
      if (ctx.threads == 0) {
        const char* meta = ctx.anvil_devices.front().EpMetadata().GetValue(ANVIL_META_THREADS);
        ctx.threads = meta ? std::atoi(meta) : 0;
      }
      if (ctx.threads <= 0) ctx.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      std::string sel = o.selection == Selection::kExplicit ? "explicit (AppendExecutionProvider_V2)"
                        : o.selection == Selection::kDelegate ? "delegate (picks " ANVIL_EP_NAME ")"
                                                               : "policy " + o.policy_name;
      std::printf("selection: %s; CPU fallback %s; %d intra-op threads%s\n", sel.c_str(),
                  o.allow_fallback ? "allowed" : "disabled", ctx.threads,
                  default_job ? "; default job: PaddleOCR det/rec/cls" : "");
    }

    std::vector<Result> results;
    std::vector<std::string> errors;
    const bool several = jobs.size() > 1;
    for (const Job& job : jobs) {
      std::printf("\n== %s (%s)\n", job.label.c_str(), job.path.c_str());
      std::fflush(stdout);
      Result r;
      r.label = job.label;
      try {
        RunJob(ctx, job, several, r);
      } catch (const UsageError&) {
        throw;
      } catch (const std::exception& e) {
        const bool ort = dynamic_cast<const Ort::Exception*>(&e) != nullptr;
        const std::string msg =
            (several ? job.label + ": " : std::string()) + (ort ? CleanOrtMessage(e.what()) : OneLine(e.what()));
        if (!several) throw RunError(msg);
        std::printf("failed: %s\n", msg.c_str());
        errors.push_back(msg);
      }
      if (r.ok && !r.compare_pass)
        errors.push_back((several ? job.label + ": " : std::string()) + "--compare: " +
                         std::to_string(r.compare_failures) + " output(s) outside the tolerance");
      results.push_back(std::move(r));
      std::fflush(stdout);
    }
    if (several || default_job) PrintSummary(results);
    std::fflush(stdout);
    if (!errors.empty()) {
      std::fprintf(stderr, "anvil_run: error: %s%s\n", errors.front().c_str(),
                   errors.size() > 1 ? Format(" (and %zu more; see above)", errors.size() - 1).c_str() : "");
      rc = 1;
    }
  }
  try {
    env.UnregisterExecutionProviderLibrary(kRegistrationName);
  } catch (const Ort::Exception& e) {
    unregister.done = true;
    throw RunError("unregistering the plugin library failed: " + CleanOrtMessage(e.what()));
  }
  unregister.done = true;
  return rc;
}

}  // namespace
}  // namespace anvil_run

int main(int argc, char** argv) {
  try {
    return anvil_run::Main(argc, argv);
  } catch (const anvil_run::UsageError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "anvil_run: error: %s\n", anvil_run::OneLine(e.what()).c_str());
    return 2;
  } catch (const Ort::Exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "anvil_run: error: %s\n", anvil_run::CleanOrtMessage(e.what()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "anvil_run: error: %s\n", anvil_run::OneLine(e.what()).c_str());
    return 1;
  } catch (...) {
    std::fflush(stdout);
    std::fprintf(stderr, "anvil_run: error: unexpected failure\n");
    return 1;
  }
}
