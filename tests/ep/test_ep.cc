// Anvil through ORT's public C++ API, as an application uses it: registration, device listing,
// explicit and automatic selection, CPU fallback, options, pre-packing (owned, shared, disabled)
// and concurrent Run calls.
#include <anvil/anvil.h>
#include <gtest/gtest.h>
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* kLib = ANVIL_TEST_LIB;
const std::string kModels = ANVIL_TEST_MODELS;
const char* kRegistration = "anvil_ep_tests";

// Every message ORT logs that mentions Anvil, for tests that look at what the EP reported.
std::mutex g_log_mutex;
std::vector<std::string> g_anvil_logs;

void ORT_API_CALL CaptureLog(void*, OrtLoggingLevel, const char*, const char*, const char*, const char* message) {
  if (std::strstr(message, "Anvil") == nullptr) return;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_anvil_logs.emplace_back(message);
}

std::vector<std::string> TakeLogs() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  return std::exchange(g_anvil_logs, {});
}

Ort::Env& TestEnv() {
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "anvil_ep_tests", CaptureLog, nullptr);
  return env;
}

// Registers Anvil for the lifetime of the object.
struct Registration {
  Registration() { TestEnv().RegisterExecutionProviderLibrary(kRegistration, kLib); }
  ~Registration() { TestEnv().UnregisterExecutionProviderLibrary(kRegistration); }
};

std::vector<Ort::ConstEpDevice> AnvilDevices() {
  std::vector<Ort::ConstEpDevice> out;
  for (const auto& d : TestEnv().GetEpDevices())
    if (std::string(d.EpName()) == ANVIL_EP_NAME) out.push_back(d);
  return out;
}

std::string ModelPath(const char* name) { return kModels + "/" + name; }

Ort::SessionOptions StrictOptions() {
  Ort::SessionOptions so;
  so.AddConfigEntry("session.disable_cpu_ep_fallback", "1");
  so.AddConfigEntry("session.record_ep_graph_assignment_info", "1");
  return so;
}

Ort::SessionOptions ExplicitAnvil(std::unordered_map<std::string, std::string> options = {}) {
  Ort::SessionOptions so = StrictOptions();
  auto devices = AnvilDevices();
  EXPECT_EQ(devices.size(), 1u);
  so.AppendExecutionProvider_V2(TestEnv(), devices, options);
  return so;
}

// EP name per node, from the session's assignment info.
std::map<std::string, std::string> Placement(const Ort::Session& session) {
  std::map<std::string, std::string> out;
  for (const auto& subgraph : session.GetEpGraphAssignmentInfo())
    for (const auto& node : subgraph.GetNodes()) out[node.GetOperatorType() + ":" + node.GetName()] = subgraph.GetEpName();
  return out;
}

std::vector<float> RunModel(Ort::Session& session, const std::vector<float>& x, int64_t cols) {
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const int64_t shape[] = {static_cast<int64_t>(x.size()) / cols, cols};
  Ort::Value input = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(x.data()), x.size(), shape, 2);
  const char* in_names[] = {"x"};
  const char* out_names[] = {"y"};
  auto outputs = session.Run(Ort::RunOptions{}, in_names, &input, 1, out_names, 1);
  const float* y = outputs[0].GetTensorData<float>();
  return std::vector<float>(y, y + outputs[0].GetTensorTypeAndShapeInfo().GetElementCount());
}

std::vector<float> ReluRef(std::vector<float> x) {
  for (float& v : x) v = std::max(v, 0.f);
  return x;
}

// Reference for matmul_relu.onnx: W[k][n] = (k*8 + n - 64) / 100.
std::vector<float> MatMulReluRef(const std::vector<float>& x) {
  std::vector<float> y;
  for (size_t r = 0; r < x.size() / 16; ++r)
    for (int n = 0; n < 8; ++n) {
      double acc = 0;
      for (int k = 0; k < 16; ++k) acc += x[r * 16 + k] * ((k * 8 + n - 64) / 100.0);
      y.push_back(std::max<float>(static_cast<float>(acc), 0.f));
    }
  return y;
}

std::vector<float> Ramp(size_t n, float scale = 0.25f, float offset = -1.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * static_cast<float>(i % 17) - 0.5f * static_cast<float>(i % 3);
  return v;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(Registration, RegisterUnregisterRegisterAgain) {
  {
    Registration reg;
    auto devices = AnvilDevices();
    ASSERT_EQ(devices.size(), 1u);
    auto meta = devices[0].EpMetadata().GetKeyValuePairs();
    EXPECT_TRUE(meta.count(ANVIL_META_CPU_FEATURES));
    EXPECT_GE(std::stoi(meta.at(ANVIL_META_THREADS)), 1);
    EXPECT_EQ(meta.at("version"), ANVIL_VERSION);
    EXPECT_EQ(std::string(devices[0].EpVendor()), ANVIL_EP_VENDOR);
    EXPECT_EQ(devices[0].Device().Type(), OrtHardwareDeviceType_CPU);
  }
  EXPECT_TRUE(AnvilDevices().empty());
  Registration again;
  ASSERT_EQ(AnvilDevices().size(), 1u);
  Ort::Session session(TestEnv(), ModelPath("relu.onnx").c_str(), ExplicitAnvil());
  auto x = Ramp(12);
  ExpectNear(RunModel(session, x, 3), ReluRef(x));
}

// ORT unmaps a plugin at unregister; a session made with it must still run and release cleanly.
TEST(Lifetime, SessionOutlivesUnregister) {
  auto x = Ramp(64);
  std::optional<Ort::Session> conv_session, relu_session;
  {
    Registration reg;
    relu_session.emplace(TestEnv(), ModelPath("relu.onnx").c_str(), ExplicitAnvil());
    conv_session.emplace(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), ExplicitAnvil());
    ExpectNear(RunModel(*conv_session, x, 16), MatMulReluRef(x));
  }
  EXPECT_TRUE(AnvilDevices().empty());
  ExpectNear(RunModel(*conv_session, x, 16), MatMulReluRef(x));  // kernels and packed weights still there
  ExpectNear(RunModel(*relu_session, Ramp(12), 3), ReluRef(Ramp(12)));
  relu_session.reset();
  {
    Registration again;  // a new factory while the old one still serves a live session
    Ort::Session fresh(TestEnv(), ModelPath("relu.onnx").c_str(), ExplicitAnvil());
    ExpectNear(RunModel(fresh, Ramp(12), 3), ReluRef(Ramp(12)));
  }
  conv_session.reset();  // the last EP of the first factory goes: the factory goes with it
}

TEST(Selection, ExplicitRunsEveryNodeOnAnvil) {
  Registration reg;
  Ort::Session session(TestEnv(), ModelPath("relu.onnx").c_str(), ExplicitAnvil({{"threads", "2"}}));
  for (const auto& [node, ep] : Placement(session)) EXPECT_EQ(ep, ANVIL_EP_NAME) << node;
  auto x = Ramp(30);
  ExpectNear(RunModel(session, x, 3), ReluRef(x));
}

TEST(Selection, EveryPolicyPicksAnvilBeforeOrtCpu) {
  Registration reg;
  const OrtExecutionProviderDevicePolicy policies[] = {
      OrtExecutionProviderDevicePolicy_DEFAULT,         OrtExecutionProviderDevicePolicy_PREFER_CPU,
      OrtExecutionProviderDevicePolicy_PREFER_NPU,      OrtExecutionProviderDevicePolicy_PREFER_GPU,
      OrtExecutionProviderDevicePolicy_MAX_PERFORMANCE, OrtExecutionProviderDevicePolicy_MAX_EFFICIENCY,
      OrtExecutionProviderDevicePolicy_MIN_OVERALL_POWER};
  for (auto policy : policies) {
    Ort::SessionOptions so = StrictOptions();
    so.SetEpSelectionPolicy(policy);
    so.AddConfigEntry(ANVIL_OPTION_PREFIX ANVIL_OPTION_THREADS, "1");
    Ort::Session session(TestEnv(), ModelPath("relu.onnx").c_str(), so);
    auto placement = Placement(session);
    ASSERT_FALSE(placement.empty()) << "policy " << policy;
    for (const auto& [node, ep] : placement) EXPECT_EQ(ep, ANVIL_EP_NAME) << "policy " << policy << " " << node;
    auto x = Ramp(9);
    ExpectNear(RunModel(session, x, 3), ReluRef(x));
  }
}

OrtStatus* ORT_API_CALL PickAnvil(const OrtEpDevice** devices, size_t num_devices, const OrtKeyValuePairs*,
                                  const OrtKeyValuePairs*, const OrtEpDevice** selected, size_t max_selected,
                                  size_t* num_selected, void* state) {
  *num_selected = 0;
  for (size_t i = 0; i < num_devices && *num_selected < max_selected; ++i) {
    if (std::string(Ort::GetApi().EpDevice_EpName(devices[i])) == ANVIL_EP_NAME) selected[(*num_selected)++] = devices[i];
  }
  ++*static_cast<int*>(state);
  return nullptr;
}

TEST(Selection, DelegatePicksAnvil) {
  Registration reg;
  int calls = 0;
  Ort::SessionOptions so = StrictOptions();
  so.SetEpSelectionPolicy(PickAnvil, &calls);
  Ort::Session session(TestEnv(), ModelPath("relu.onnx").c_str(), so);
  EXPECT_EQ(calls, 1);
  for (const auto& [node, ep] : Placement(session)) EXPECT_EQ(ep, ANVIL_EP_NAME) << node;
}

TEST(Fallback, DisabledFallbackRejectsAModelAnvilCannotRunWhole) {
  Registration reg;
  try {
    Ort::Session session(TestEnv(), ModelPath("relu_unclaimed.onnx").c_str(), ExplicitAnvil());
    FAIL() << "session creation should fail: Anvil does not claim the Einsum and CPU fallback is disabled";
  } catch (const Ort::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("fallback"), std::string::npos) << e.what();
  }
}

TEST(Fallback, AllowedFallbackRunsTheRestOnOrtCpu) {
  Registration reg;
  Ort::SessionOptions so;
  so.AddConfigEntry("session.record_ep_graph_assignment_info", "1");
  so.AppendExecutionProvider_V2(TestEnv(), AnvilDevices(), std::unordered_map<std::string, std::string>{});
  Ort::Session session(TestEnv(), ModelPath("relu_unclaimed.onnx").c_str(), so);
  auto placement = Placement(session);
  int on_anvil = 0, on_cpu = 0;
  for (const auto& [node, ep] : placement) (ep == ANVIL_EP_NAME ? on_anvil : on_cpu) += 1;
  EXPECT_EQ(on_anvil, 1);
  EXPECT_EQ(on_cpu, 1);
  auto x = Ramp(6);
  auto y = RunModel(session, x, 3);
  ExpectNear(y, ReluRef(x));
}

void ExpectSessionError(const std::unordered_map<std::string, std::string>& options,
                        const std::vector<std::string>& must_mention) {
  try {
    Ort::Session session(TestEnv(), ModelPath("relu.onnx").c_str(), ExplicitAnvil(options));
    FAIL() << "session creation should fail";
  } catch (const Ort::Exception& e) {
    for (const auto& word : must_mention) EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
  }
}

TEST(Options, UnknownKeyFailsNamingTheKey) {
  Registration reg;
  ExpectSessionError({{"bogus", "1"}}, {"ep.anvilexecutionprovider.bogus", "threads"});
}

TEST(Options, BadValueFailsNamingAcceptedValues) {
  Registration reg;
  ExpectSessionError({{"threads", "abc"}}, {"threads", "abc", "0 to 1024"});
  ExpectSessionError({{"threads", "-3"}}, {"threads", "-3"});
  ExpectSessionError({{"share_weights", "2"}}, {"share_weights", "2", "0 or 1"});
}

// Pre-packing: Anvil's MatMul packs its constant weight. The adapter logs where the packed buffer
// lives ("cached (new|reused)", "owned" or "shared ... at <address>"), which tells the modes apart.
std::vector<std::string> PackLogs(const std::vector<std::string>& logs) {
  std::vector<std::string> out;
  for (const auto& l : logs)
    if (l.find("pre-packed") != std::string::npos) out.push_back(l);
  return out;
}

std::string Address(const std::string& log) {
  std::smatch m;
  return std::regex_search(log, m, std::regex("at (0x[0-9a-f]+)")) ? m[1].str() : "";
}

// The PrePack tests exercise ORT's PrePackWeight protocol of single-node kernels (the log lines of
// KernelAdapter), so they run with fuse=0: fused, MatMul + Relu would be one group, which packs its
// constants in Compile, through the same weight cache but without ORT's protocol.
Ort::SessionOptions VerboseAnvil(std::unordered_map<std::string, std::string> options = {}) {
  options.emplace("fuse", "0");
  Ort::SessionOptions so = ExplicitAnvil(std::move(options));
  so.SetLogSeverityLevel(ORT_LOGGING_LEVEL_VERBOSE);
  return so;
}

// By default Anvil's factory holds identical packed weights once: a second session of the same
// model computes from the first one's buffer, which outlives the first session.
TEST(PrePack, SessionsShareOnePackedCopyThroughAnvilsCache) {
  Registration reg;
  TakeLogs();
  std::optional<Ort::Session> first;
  first.emplace(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), VerboseAnvil());
  Ort::Session second(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), VerboseAnvil());
  auto packs = PackLogs(TakeLogs());
  ASSERT_EQ(packs.size(), 2u);
  EXPECT_NE(packs[0].find("cached (new) pre-packed input 1"), std::string::npos) << packs[0];
  EXPECT_NE(packs[1].find("cached (reused) pre-packed input 1"), std::string::npos) << packs[1];
  EXPECT_EQ(Address(packs[0]), Address(packs[1]));
  auto x = Ramp(5 * 16);
  ExpectNear(RunModel(*first, x, 16), MatMulReluRef(x), 1e-4f);
  first.reset();  // the cached copy stays while the second session uses it
  ExpectNear(RunModel(second, x, 16), MatMulReluRef(x), 1e-4f);
}

// share_weights=0: ORT 1.29 hands a plugin kernel its per-session cache whenever the weight lives
// in CPU memory, with or without a cross-session container; each session keeps its own copy.
TEST(PrePack, EachSessionPacksItsOwnWhenSharingIsOff) {
  Registration reg;
  TakeLogs();
  Ort::Session first(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), VerboseAnvil({{"share_weights", "0"}}));
  Ort::Session second(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), VerboseAnvil({{"share_weights", "0"}}));
  auto packs = PackLogs(TakeLogs());
  ASSERT_EQ(packs.size(), 2u);
  for (const auto& p : packs) EXPECT_NE(p.find("shared pre-packed input 1"), std::string::npos) << p;
  EXPECT_NE(Address(packs[0]), Address(packs[1]));
  auto x = Ramp(5 * 16);
  ExpectNear(RunModel(first, x, 16), MatMulReluRef(x), 1e-4f);
  ExpectNear(RunModel(second, x, 16), MatMulReluRef(x), 1e-4f);
}

// share_weights=0 with one PrepackedWeightsContainer and a shared initializer (AddInitializer):
// Anvil hands its packed weight to ORT's cache (sharing mode) and computes from the buffer ORT
// gives back. ORT 1.29 de-duplicates across sessions only for its own CPU EP's kernels, so each
// session still ends up with its own copy; when ORT extends that to plugin EPs the same protocol
// shares one buffer.
TEST(PrePack, TwoSessionsWithASharedContainerUseTheSharingProtocol) {
  Registration reg;
  Ort::PrepackedWeightsContainer container;
  std::vector<float> w(16 * 8);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n) w[k * 8 + n] = static_cast<float>(k * 8 + n - 64) / 100.f;
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const int64_t w_shape[] = {16, 8};
  Ort::Value shared_w = Ort::Value::CreateTensor<float>(mem, w.data(), w.size(), w_shape, 2);
  auto options = [&] {
    Ort::SessionOptions so = VerboseAnvil({{"share_weights", "0"}});
    so.AddInitializer("W", shared_w);
    return so;
  };
  TakeLogs();
  Ort::Session first(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), options(), container);
  Ort::Session second(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), options(), container);
  auto packs = PackLogs(TakeLogs());
  ASSERT_EQ(packs.size(), 2u);
  for (const auto& p : packs) EXPECT_NE(p.find("shared pre-packed input 1"), std::string::npos) << p;
  EXPECT_FALSE(Address(packs[0]).empty());
  auto x = Ramp(3 * 16);
  ExpectNear(RunModel(first, x, 16), MatMulReluRef(x), 1e-4f);
  ExpectNear(RunModel(second, x, 16), MatMulReluRef(x), 1e-4f);
}

TEST(PrePack, DisabledPrePackingStillComputes) {
  Registration reg;
  TakeLogs();
  Ort::SessionOptions so = VerboseAnvil();
  so.AddConfigEntry("session.disable_prepacking", "1");
  Ort::Session session(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), so);
  EXPECT_TRUE(PackLogs(TakeLogs()).empty());
  auto x = Ramp(4 * 16);
  ExpectNear(RunModel(session, x, 16), MatMulReluRef(x), 1e-4f);
}

TEST(Concurrency, EightThreadsRunOneSession) {
  Registration reg;
  Ort::Session session(TestEnv(), ModelPath("matmul_relu.onnx").c_str(), ExplicitAnvil({{"threads", "2"}}));
  std::atomic<int> mismatches{0};
  auto worker = [&](int seed) {
    for (int i = 0; i < 50; ++i) {
      auto x = Ramp(static_cast<size_t>(16 * (1 + (seed + i) % 7)), 0.1f * static_cast<float>(seed + 1), -0.5f);
      auto y = RunModel(session, x, 16);
      auto want = MatMulReluRef(x);
      for (size_t k = 0; k < y.size(); ++k)
        if (std::fabs(y[k] - want[k]) > 1e-4f) ++mismatches;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(worker, t + 1);
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---- profiling: Anvil's kernel events in ORT's profile (src/ep/profiler.h) ----------------------

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

std::string ReadText(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "";
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return text;
}

// The one profile file ORT wrote for `prefix` ("<prefix>_<timestamp>.json").
std::string ProfileOf(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix + "_", 0) == 0) found.push_back(e.path().string());
  EXPECT_EQ(found.size(), 1u) << prefix;
  return found.size() == 1 ? ReadText(found[0]) : "";
}

// Run-level profiling (RunOptions::EnableProfiling): one profiler per run, each handing ORT only the
// events of its own run, while two threads run the session, profiled and not, at the same time.
TEST(Profiling, RunLevelProfilesHoldTheirOwnRunsEvents) {
  Registration reg;
  // fuse=0: an event per node (fused, MatMul + Relu is one group and one event; the fused events
  // are tested in tests/runtime/test_profile.py).
  Ort::Session session(TestEnv(), ModelPath("matmul_relu.onnx").c_str(),
                       ExplicitAnvil({{"threads", "2"}, {"fuse", "0"}}));
  char pattern[] = "/tmp/anvil_ep_tests_profile_XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  constexpr int kRuns = 6;
  auto worker = [&](int t) {
    auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    for (int i = 0; i < kRuns; ++i) {
      const int64_t rows = 1 + (t + i) % 4;
      std::vector<float> x = Ramp(static_cast<size_t>(16 * rows));
      const int64_t shape[] = {rows, 16};
      Ort::Value input = Ort::Value::CreateTensor<float>(mem, x.data(), x.size(), shape, 2);
      const char* in_names[] = {"x"};
      const char* out_names[] = {"y"};
      Ort::RunOptions ro;
      const bool profiled = i % 2 == 0;  // every other run
      char prefix[256];
      std::snprintf(prefix, sizeof prefix, "%s/t%d_r%d_rows%lld", dir.c_str(), t, i, static_cast<long long>(rows));
      if (profiled) ro.EnableProfiling(prefix);
      session.Run(ro, in_names, &input, 1, out_names, 1);
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  size_t files = 0;
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < kRuns; i += 2) {
      const int64_t rows = 1 + (t + i) % 4;
      char name[64];
      std::snprintf(name, sizeof name, "t%d_r%d_rows%lld", t, i, static_cast<long long>(rows));
      const std::string text = ProfileOf(dir, name);
      ++files;
      // One run: one model_run, two nodes, and Anvil's event for each, with its own run's shapes.
      EXPECT_EQ(Count(text, "\"model_run\""), 1u) << name;
      EXPECT_EQ(Count(text, "\"cat\" : \"Kernel\""), 2u) << name << "\n" << text;
      EXPECT_EQ(Count(text, "\"impl\""), 2u) << name;
      EXPECT_EQ(Count(text, "\"op_name\" : \"MatMul\""), 2u) << name;  // ORT's node event and Anvil's
      char shapes[64];
      std::snprintf(shapes, sizeof shapes, "[[%lld,16],[16,8]]", static_cast<long long>(rows));
      EXPECT_NE(text.find(shapes), std::string::npos) << name << "\n" << text;
      // One row times the constant W runs Anvil's GEMV; more rows, oneDNN's matmul.
      EXPECT_NE(text.find(rows == 1 ? "\"impl\" : \"anvil:gemv\"" : "\"impl\" : \"onednn:"), std::string::npos)
          << name;
      EXPECT_NE(text.find("\"impl\" : \"anvil:Relu\""), std::string::npos) << name;
    }
  EXPECT_EQ(files, 6u);
  // The unprofiled runs wrote nothing.
  size_t all = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) all += e.is_regular_file();
  EXPECT_EQ(all, files);
  std::filesystem::remove_all(dir);
}

// One float input of the given shape, every output's values (in order).
std::vector<std::vector<float>> RunAll(Ort::Session& session, const std::vector<int64_t>& shape,
                                       const std::vector<float>& x) {
  Ort::AllocatorWithDefaultOptions alloc;
  auto in_name = session.GetInputNameAllocated(0, alloc);
  std::vector<Ort::AllocatedStringPtr> out_names;
  std::vector<const char*> outs;
  for (size_t i = 0; i < session.GetOutputCount(); ++i) {
    out_names.push_back(session.GetOutputNameAllocated(i, alloc));
    outs.push_back(out_names.back().get());
  }
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value input = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(x.data()), x.size(), shape.data(),
                                                     shape.size());
  const char* ins[] = {in_name.get()};
  auto values = session.Run(Ort::RunOptions{}, ins, &input, 1, outs.data(), outs.size());
  std::vector<std::vector<float>> out;
  for (auto& v : values) {
    const float* p = v.GetTensorData<float>();
    out.emplace_back(p, p + v.GetTensorTypeAndShapeInfo().GetElementCount());
  }
  return out;
}

// 8 threads run one session of a model with several of Anvil's kernels (Conv, Relu, MaxPool,
// Reshape, MatMul, Add, Softmax, Transpose, Concat), and the PaddleOCR classifier when the model
// cache has it, each thread on inputs of several shapes; every output must equal, bit for bit, the
// output of the same input run alone. Anvil runs with threads=1, so every kernel call stays on its
// caller's thread: under ThreadSanitizer (scripts/test_sanitizers.sh) a kernel keeping per-call
// state in the kernel object shows up as a race between the callers, and no report comes from
// ORT's intra-op pool, which hands a task's state to a pool thread through atomics TSan cannot see
// in the uninstrumented libonnxruntime (the hand-off of Anvil's own tasks is annotated in
// src/ep/task_runner.h). Intra-op parallelism under concurrent calls: tests/runtime/test_concurrency.py.
TEST(Concurrency, EightThreadsRunOneSessionOfManyKernels) {
  Registration reg;
  struct Case {
    std::string path;
    std::vector<std::vector<int64_t>> shapes;
  };
  std::vector<Case> cases = {{ModelPath("small_cnn.onnx"), {{1, 4, 12, 12}, {3, 4, 12, 12}, {2, 4, 12, 12}}}};
  const char* cache = std::getenv("ANVIL_CACHE");
  const char* home = std::getenv("HOME");
  std::string cls = (cache ? std::string(cache) : std::string(home ? home : "") + "/.cache/anvil") +
                    "/models/paddleocr/ch_ppocr_mobile_v2.0_cls_infer.onnx";
  if (FILE* f = std::fopen(cls.c_str(), "rb")) {
    std::fclose(f);
    cases.push_back({cls, {{1, 3, 48, 192}, {2, 3, 48, 192}}});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    Ort::Session session(TestEnv(), c.path.c_str(), ExplicitAnvil({{"threads", "1"}}));
    std::vector<std::vector<float>> inputs;
    std::vector<std::vector<std::vector<float>>> alone;
    for (size_t i = 0; i < c.shapes.size(); ++i) {
      size_t n = 1;
      for (int64_t d : c.shapes[i]) n *= static_cast<size_t>(d);
      inputs.push_back(Ramp(n, 0.01f * static_cast<float>(i + 1), -0.7f));
      for (size_t k = 0; k < n; ++k) inputs.back()[k] = std::sin(inputs.back()[k] * 7.f);
      alone.push_back(RunAll(session, c.shapes[i], inputs.back()));
    }
    std::atomic<int> mismatches{0};
    auto worker = [&](size_t seed) {
      for (size_t round = 0; round < 2; ++round)
        for (size_t j = 0; j < c.shapes.size(); ++j) {
          size_t i = (seed + j) % c.shapes.size();
          if (RunAll(session, c.shapes[i], inputs[i]) != alone[i]) ++mismatches;
        }
    };
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 8; ++t) threads.emplace_back(worker, t);
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
  }
}

}  // namespace

namespace {

// Anvil logs its thread count and where it came from when the session creates it.
std::string ThreadLog(Ort::SessionOptions so) {
  so.SetLogSeverityLevel(ORT_LOGGING_LEVEL_INFO);
  TakeLogs();
  Ort::Session session(TestEnv(), ModelPath("relu.onnx").c_str(), so);
  for (const auto& l : TakeLogs())
    if (l.find(" threads (") != std::string::npos) return l;
  return "";
}

// ORT 1.29 does not show a plugin EP the session's intra-op thread count from C++ (neither
// SetIntraOpNumThreads nor a "session.intra_op_num_threads" entry added through the C API reaches
// CreateEp), so Anvil's default is the physical core count, ORT's own default.
TEST(Options, ThreadCountComesFromTheOptionElseThePhysicalCores) {
  Registration reg;
  EXPECT_NE(ThreadLog(ExplicitAnvil({{"threads", "3"}})).find("3 threads (option"), std::string::npos);
  EXPECT_NE(ThreadLog(ExplicitAnvil({{"threads", "0"}})).find("(physical cores)"), std::string::npos);
  EXPECT_NE(ThreadLog(ExplicitAnvil()).find("(physical cores)"), std::string::npos);
}

}  // namespace
