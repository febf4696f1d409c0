// anvil_run's command line.
#pragma once

#include <onnxruntime_c_api.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace anvil_run {

// Exit code 2: the command line is wrong.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Exit code 1: something failed while running.
struct RunError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Selection { kExplicit, kPolicy, kDelegate };

struct Options {
  std::string lib;  // empty: next to the executable, else $ANVIL_LIB
  bool list_devices = false;
  Selection selection = Selection::kExplicit;
  OrtExecutionProviderDevicePolicy policy = OrtExecutionProviderDevicePolicy_DEFAULT;
  std::string policy_name;
  std::vector<std::pair<std::string, std::string>> ep_options;
  int threads = 0;  // 0: Anvil's device metadata (physical cores)
  std::vector<std::pair<std::string, std::string>> inputs;  // (input name or "", file)
  std::map<std::string, int64_t> dims;                      // symbolic dim name -> size
  std::map<std::string, std::vector<int64_t>> shapes;       // input name -> full shape
  uint64_t seed = 0;
  bool page = false;  // --fill page: float [N,3,H,W] inputs get a synthetic document page
  int64_t batch = 1;
  std::string output_dir;
  bool compare = false;
  bool placement = false;
  bool bench = false;
  bool profile = false;      // --profile (or --profile-json)
  std::string profile_json;  // --profile-json FILE: the raw Anvil profile of the profiled runs
  int warmup = 3;
  int repeat = 10;
  bool warmup_set = false;
  bool repeat_set = false;
  bool allow_fallback = false;
  double atol = 1e-5;
  double rtol = 1e-4;
  bool verbose = false;
  bool help = false;
  std::vector<std::string> models;
};

// Throws UsageError.
Options ParseArgs(int argc, char** argv);
const char* Usage();
const char* PolicyName(OrtExecutionProviderDevicePolicy policy);

}  // namespace anvil_run
