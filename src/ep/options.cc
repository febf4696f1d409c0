#include "ep/options.h"

#include <anvil/anvil.h>

#include <charconv>

#include "ep/cpu_info.h"

namespace anvil {

const std::vector<OptionSpec>& KnownOptions() {
  static const std::vector<OptionSpec> specs = {
      {ANVIL_OPTION_THREADS, "an integer from 0 to 1024: the most threads of the session's pool one kernel splits its work for (0: the physical cores)"},
      {ANVIL_OPTION_SHARE_WEIGHTS, "0 or 1: hold identical packed weights once for all sessions (1, the default) or once per kernel (0)"},
      {ANVIL_OPTION_LOG, "'dispatch' (the dispatch log on stderr: what Anvil claims, fuses and runs) or '' (none, the default)"},
      {ANVIL_OPTION_LAYOUT, "'nhwc' (convolutions channels-last through ORT's layout transformer, the default) or 'nchw' (the model's layout)"},
      {ANVIL_OPTION_FUSE, "0 or 1: run a head (an anchor node, an element-wise node, a decomposed function) and the element-wise chain after it as one node (1, the default; src/fusion/patterns.inc) or every node alone (0)"},
  };
  return specs;
}

namespace {

bool ParseInt(const std::string& s, int lo, int hi, int& out) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

std::string KnownKeyList() {
  std::string out;
  for (const OptionSpec& spec : KnownOptions()) out += (out.empty() ? "" : ", ") + std::string(spec.key);
  return out;
}

const OptionSpec* FindOption(const std::string& name) {
  for (const OptionSpec& spec : KnownOptions())
    if (name == spec.key) return &spec;
  return nullptr;
}

}  // namespace

Status ParseOptions(const std::vector<std::pair<std::string, std::string>>& entries, EpConfig& config) {
  const std::string prefix = ANVIL_OPTION_PREFIX;
  int threads = 0;
  int session_threads = 0;
  for (const auto& [key, value] : entries) {
    if (key == "session.intra_op_num_threads") {
      ParseInt(value, 0, 1 << 16, session_threads);
      continue;
    }
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string name = key.substr(prefix.size());
    const OptionSpec* spec = FindOption(name);
    if (spec == nullptr)
      return Fail("Anvil: unknown option '", key, "'; known options: ", KnownKeyList(), " (prefixed with '", prefix,
                  "')");
    bool valid = false;
    if (name == ANVIL_OPTION_THREADS) valid = ParseInt(value, 0, 1024, threads);
    if (name == ANVIL_OPTION_SHARE_WEIGHTS) {
      int share = 1;
      valid = ParseInt(value, 0, 1, share);
      config.share_weights = share != 0;
    }
    if (name == ANVIL_OPTION_LOG) {
      valid = value == "dispatch" || value.empty();
      config.log_dispatch = value == "dispatch";
    }
    if (name == ANVIL_OPTION_LAYOUT) {
      valid = value == "nhwc" || value == "nchw";
      config.nhwc = value == "nhwc";
    }
    if (name == ANVIL_OPTION_FUSE) {
      int fuse = 1;
      valid = ParseInt(value, 0, 1, fuse);
      config.fuse = fuse != 0;
    }
    if (!valid) return Fail("Anvil: option '", key, "' has value '", value, "'; accepted: ", spec->accepted);
  }
  config.threads_source = "option " ANVIL_OPTION_PREFIX ANVIL_OPTION_THREADS;
  if (threads == 0) {
    threads = session_threads;
    config.threads_source = "session.intra_op_num_threads";
  }
  if (threads == 0) {
    threads = GetCpuInfo().physical_cores;
    config.threads_source = "physical cores";
  }
  config.threads = threads;
  return {};
}

}  // namespace anvil
