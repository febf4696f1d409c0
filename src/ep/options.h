// Anvil's session options: "ep.anvilexecutionprovider.<key>" entries. The table of known keys is
// here and nowhere else; an unknown key or a bad value fails session creation with a message
// naming the key and what it accepts.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "kernels/kernel.h"

namespace anvil {

struct OptionSpec {
  const char* key;
  const char* accepted;  // human-readable: what values are accepted
};
const std::vector<OptionSpec>& KnownOptions();

// Parses the session's config entries (all of them; only Anvil's prefix is looked at) into config.
// `session_threads` is the session's intra-op thread count if known (0 otherwise).
Status ParseOptions(const std::vector<std::pair<std::string, std::string>>& entries, EpConfig& config);

}  // namespace anvil
