// anvil_run --profile: reads the JSON profiles ONNX Runtime writes and sums them per op type.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace anvil_run {

// A parsed JSON value (enough for ORT's trace-event profiles).
struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<Json> items;                           // kArray
  std::vector<std::pair<std::string, Json>> fields;  // kObject, in file order
  const Json* Get(const std::string& key) const;      // nullptr when absent or not an object
  std::string Str(const std::string& key) const;      // a string field, "" when absent
  double Num(const std::string& key) const;           // a number field, 0 when absent
};

// Throws std::runtime_error naming the offset on malformed text.
Json ParseJson(const std::string& text);
// Compact JSON text of a value.
std::string WriteJson(const Json& value);

// Appends one run's profile (an array of trace events) to `merged`, its timestamps moved by
// `*offset_us`; then moves *offset_us past its last event (plus a gap), so runs follow each other.
void AppendRun(const Json& profile, Json& merged, double* offset_us);

// One profiled run's events by op type, from one side's profile file.
struct OpTimes {
  size_t count = 0;
  double total_us = 0;
  std::map<std::string, size_t> impls;  // Anvil's events only: implementation -> calls
};
struct NodeTimes {
  std::string op_type, input_shapes, impl;  // from Anvil's event args
  size_t count = 0;
  double total_us = 0;
};
struct RunProfile {
  double run_us = 0;                       // ORT's model_run event
  std::map<std::string, OpTimes> ops;      // op type -> its kernel calls (see anvil_events)
  std::map<std::string, OpTimes> node_ops; // op type -> ORT's node events ("<node>_kernel_time")
  bool anvil_events = false;               // ops from Anvil's own KERNEL events (else = node_ops)
  std::map<std::string, NodeTimes> anvil_nodes;  // node name -> its Anvil events
};

// Reads one run's profile. `anvil_provider`: take that provider's KERNEL events for `ops` when
// there are any (Anvil's side); otherwise `ops` are ORT's node events.
RunProfile SummarizeProfile(const Json& profile, const std::string& anvil_provider);

// The per-op-type table of the two sides, each the median over its runs: for Anvil the time inside
// its kernels (its own events) and ORT's node time of the same nodes, for ORT its node time; the
// ratio compares node times (the same measurement on both sides).
std::string ProfileTable(const std::vector<RunProfile>& anvil, const std::vector<RunProfile>& ort);

// Anvil's `top` slowest nodes (median time per run), with shapes and implementation; "" without
// Anvil events.
std::string SlowestNodes(const std::vector<RunProfile>& anvil, size_t top);

}  // namespace anvil_run
