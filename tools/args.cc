#include "args.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace anvil_run {

namespace {

struct PolicyEntry {
  const char* name;
  OrtExecutionProviderDevicePolicy policy;
};
constexpr PolicyEntry kPolicies[] = {
    {"default", OrtExecutionProviderDevicePolicy_DEFAULT},
    {"prefer_cpu", OrtExecutionProviderDevicePolicy_PREFER_CPU},
    {"prefer_npu", OrtExecutionProviderDevicePolicy_PREFER_NPU},
    {"prefer_gpu", OrtExecutionProviderDevicePolicy_PREFER_GPU},
    {"max_performance", OrtExecutionProviderDevicePolicy_MAX_PERFORMANCE},
    {"max_efficiency", OrtExecutionProviderDevicePolicy_MAX_EFFICIENCY},
    {"min_overall_power", OrtExecutionProviderDevicePolicy_MIN_OVERALL_POWER},
};

template <typename T>
T ParseNumber(const std::string& flag, const std::string& text, T lo, T hi) {
  T v{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < lo || v > hi)
    throw UsageError(flag + " needs a number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" +
                     text + "'");
  return v;
}

double ParseDouble(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v >= 0)) throw UsageError(flag + " needs a non-negative number, got '" + text + "'");
  return v;
}

std::pair<std::string, std::string> SplitKeyValue(const std::string& flag, const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError(flag + " needs key=value, got '" + text + "'");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::vector<int64_t> ParseShape(const std::string& flag, const std::string& text) {
  std::vector<int64_t> shape;
  size_t p = 0;
  while (p <= text.size()) {
    size_t q = text.find_first_of("x,", p);
    if (q == std::string::npos) q = text.size();
    shape.push_back(ParseNumber<int64_t>(flag, text.substr(p, q - p), 0, int64_t{1} << 32));
    p = q + 1;
  }
  return shape;
}

}  // namespace

const char* PolicyName(OrtExecutionProviderDevicePolicy policy) {
  for (const PolicyEntry& e : kPolicies)
    if (e.policy == policy) return e.name;
  return "?";
}

const char* Usage() {
  return R"(usage: anvil_run [options] [model.onnx ...]

Runs ONNX models on Anvil, the kernel-based plugin execution provider for ONNX Runtime.
With no model: the default job: PaddleOCR det (1x3x640x640), rec (1x3x48x320) and cls (1x3x48x192)
from $ANVIL_CACHE/models/paddleocr, each with --placement --compare --bench (warmup 1, repeat 5)
and CPU fallback allowed, then a summary table.

plugin and device selection:
  --lib PATH              plugin library (default: libanvil_ep.so next to anvil_run, else $ANVIL_LIB)
  --list-devices          list every EP device with its metadata (alone: list and exit)
  --select MODE           explicit (default: Anvil's device via AppendExecutionProvider_V2),
                          policy:NAME (NAME: default, prefer_cpu, prefer_npu, prefer_gpu,
                          max_performance, max_efficiency, min_overall_power), or delegate
                          (a selection delegate that picks Anvil's device)
  --ep-option KEY=VALUE   Anvil option (repeatable; e.g. threads=2)
  --allow-fallback        let nodes Anvil does not support run on ORT's CPU EP
                          (default: session.disable_cpu_ep_fallback=1, every node on Anvil)
  --threads N             intra-op threads for both Anvil and the ORT CPU reference
                          (default: Anvil's anvil.threads device metadata, the physical cores)
inputs and outputs:
  --input NAME=FILE       input from .npy or ONNX TensorProto .pb (repeatable; NAME= may be left
                          out for a .pb that names its tensor or a model with one input)
  --dim NAME=VALUE        size of a symbolic dimension (repeatable)
  --shape NAME=AxBxC      full shape of a generated input (repeatable)
  --batch N               size of unknown leading (batch) dimensions of generated inputs (default 1)
  --seed S                seed of generated inputs (default 0): floats uniform in [0,1), ints 0..3
  --fill random|page      generated float inputs shaped [N,3,H,W]: uniform noise (default) or a
                          synthetic document page (dark word-like bars on a light background,
                          normalised like PaddleOCR's preprocessing); the default job uses page
  --output-dir DIR        write every output as DIR/<output>.npy (DIR/<model>/<output>.npy for
                          several models)
checks:
  --compare               run the same inputs on ORT's CPU EP and compare every output
  --atol A --rtol R       compare passes when max|diff| <= A + R * max|reference|
                          (default 1e-05 and 1e-04)
  --placement             show which EP runs each node
  --explain               Anvil's dispatch log on stderr: what it claims, declines (and why) and
                          fuses, and the implementation each kernel plan runs (log=dispatch)
  --bench                 median/p90 latency of Anvil and of ORT's CPU EP, interleaved
  --warmup W --repeat R   bench iterations (default 3 and 10); with --profile, the runs before
                          and the profiled runs per side (default 1 and 5)
  --profile               profile both sides (ORT's run-level profiling) and show a table per op
                          type: calls, total and mean ms per run, share of the run, Anvil vs ORT
                          (Anvil's side from Anvil's own kernel events, with the implementation)
  --profile-json FILE     also keep the raw Anvil profile (ORT's JSON trace events of the profiled
                          runs; FILE gets _<model> before its extension for several models);
                          implies --profile
  --verbose               ORT warnings on stderr
  -h, --help              this help

exit codes: 0 ok; 1 runtime error or --compare failure; 2 usage error.
)";
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool only_models = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (only_models || arg.empty() || arg[0] != '-' || arg == "-") {
      o.models.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_models = true;
      continue;
    }
    std::string flag = arg, value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        flag = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_inline = true;
      }
    }
    auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      return argv[++i];
    };
    auto no_value = [&]() {
      if (has_inline) throw UsageError(flag + " takes no value");
    };
    if (flag == "-h" || flag == "--help") {
      no_value();
      o.help = true;
    } else if (flag == "--lib") {
      o.lib = next();
      if (o.lib.empty()) throw UsageError("--lib needs a path");
    } else if (flag == "--list-devices") {
      no_value();
      o.list_devices = true;
    } else if (flag == "--select") {
      std::string mode = next();
      std::transform(mode.begin(), mode.end(), mode.begin(), [](unsigned char c) { return std::tolower(c); });
      if (mode == "explicit") {
        o.selection = Selection::kExplicit;
      } else if (mode == "delegate") {
        o.selection = Selection::kDelegate;
      } else if (mode.rfind("policy:", 0) == 0) {
        std::string name = mode.substr(7);
        std::replace(name.begin(), name.end(), '-', '_');
        const PolicyEntry* found = nullptr;
        for (const PolicyEntry& e : kPolicies)
          if (name == e.name) found = &e;
        if (!found)
          throw UsageError("unknown policy '" + mode.substr(7) +
                           "'; known: default, prefer_cpu, prefer_npu, prefer_gpu, max_performance, "
                           "max_efficiency, min_overall_power");
        o.selection = Selection::kPolicy;
        o.policy = found->policy;
        o.policy_name = found->name;
      } else {
        throw UsageError("--select needs explicit, policy:NAME or delegate, got '" + mode + "'");
      }
    } else if (flag == "--ep-option") {
      o.ep_options.push_back(SplitKeyValue(flag, next()));
    } else if (flag == "--threads") {
      o.threads = ParseNumber<int>(flag, next(), 1, 1024);
    } else if (flag == "--input") {
      const std::string v = next();
      const size_t eq = v.find('=');
      if (eq == std::string::npos) o.inputs.emplace_back("", v);
      else if (eq == 0 || eq + 1 == v.size()) throw UsageError("--input needs NAME=FILE or FILE, got '" + v + "'");
      else o.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (flag == "--dim") {
      auto [k, v] = SplitKeyValue(flag, next());
      o.dims[k] = ParseNumber<int64_t>(flag, v, 0, int64_t{1} << 32);
    } else if (flag == "--shape") {
      auto [k, v] = SplitKeyValue(flag, next());
      o.shapes[k] = ParseShape(flag, v);
    } else if (flag == "--fill") {
      const std::string v = next();
      if (v != "random" && v != "page") throw UsageError("--fill: expected random or page, got '" + v + "'");
      o.page = v == "page";
    } else if (flag == "--seed") {
      o.seed = ParseNumber<uint64_t>(flag, next(), 0, UINT64_MAX);
    } else if (flag == "--batch") {
      o.batch = ParseNumber<int64_t>(flag, next(), 1, int64_t{1} << 20);
    } else if (flag == "--output-dir") {
      o.output_dir = next();
      if (o.output_dir.empty()) throw UsageError("--output-dir needs a directory");
    } else if (flag == "--compare") {
      no_value();
      o.compare = true;
    } else if (flag == "--placement") {
      no_value();
      o.placement = true;
    } else if (flag == "--explain") {
      no_value();
      o.ep_options.push_back({"log", "dispatch"});
    } else if (flag == "--bench") {
      no_value();
      o.bench = true;
    } else if (flag == "--profile") {
      no_value();
      o.profile = true;
    } else if (flag == "--profile-json") {
      o.profile_json = next();
      if (o.profile_json.empty()) throw UsageError("--profile-json needs a file name");
      o.profile = true;
    } else if (flag == "--warmup") {
      o.warmup = ParseNumber<int>(flag, next(), 0, 1000000);
      o.warmup_set = true;
    } else if (flag == "--repeat") {
      o.repeat = ParseNumber<int>(flag, next(), 1, 1000000);
      o.repeat_set = true;
    } else if (flag == "--atol") {
      o.atol = ParseDouble(flag, next());
    } else if (flag == "--rtol") {
      o.rtol = ParseDouble(flag, next());
    } else if (flag == "--allow-fallback") {
      no_value();
      o.allow_fallback = true;
    } else if (flag == "--verbose") {
      no_value();
      o.verbose = true;
    } else {
      throw UsageError("unknown option '" + flag + "' (see anvil_run --help)");
    }
  }
  return o;
}

}  // namespace anvil_run
