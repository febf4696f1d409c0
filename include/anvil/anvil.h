// Anvil's public surface: the names a user of the plugin needs. The plugin library itself exports
// only CreateEpFactories and ReleaseEpFactory (see src/ep/exports.cc).
#pragma once

#define ANVIL_EP_NAME "AnvilExecutionProvider"
#define ANVIL_EP_VENDOR "Anvil"
#define ANVIL_EP_VENDOR_ID 0u  // 0: never claims a hardware vendor (see README, "Automatic selection")
#define ANVIL_VERSION "0.1.0"

// Session options reach the EP as "ep.anvilexecutionprovider.<key>" (lower-cased EP name).
#define ANVIL_OPTION_PREFIX "ep.anvilexecutionprovider."
// The most threads one Anvil kernel splits its work for. The pieces run on the session's intra-op
// thread pool (ORT's; Anvil starts no threads), so intra_op_num_threads decides how many threads
// really run them. 0 or absent: the number of physical cores (ORT's own default pool size), or the
// "session.intra_op_num_threads" session config entry when one is set.
// (ORT does not show plugin EPs the count set with SetIntraOpNumThreads.)
#define ANVIL_OPTION_THREADS "threads"
// "1" (default): pre-packed weights with the same contents are held once per process, shared by
// every session (and every node) that packs them; "0": each kernel keeps its own packed copy, or
// hands it to ORT's pre-packed weight cache where ORT offers one.
#define ANVIL_OPTION_SHARE_WEIGHTS "share_weights"
// "1" (default): a head (an anchor node: Conv, ConvTranspose, MatMul, Gemm; an element-wise Add,
// Sub, Mul, Div; several nodes computing one op, such as a decomposed LayerNorm) and the
// element-wise chain after it run as one node (src/fusion/patterns.inc lists the fusions);
// "0": every node runs alone.
#define ANVIL_OPTION_FUSE "fuse"
// "nhwc" (default): Anvil asks ORT's layout transformer for its convolutions channels-last
// (oneDNN's fastest layout for them); ORT rewrites them into its internal NHWC domain and keeps
// the graph channels-last between them, with Transposes only where the layout changes.
// "nchw": every op in the model's own layout.
#define ANVIL_OPTION_LAYOUT "layout"
// "dispatch": the dispatch log on stderr: per node, claimed, declined (and why) or fused (and
// into which group); per kernel plan, the implementation that runs (oneDNN's impl_info_str), the
// layouts and reorders, and where a fused tail runs. "" (default): nothing.
#define ANVIL_OPTION_LOG "log"

// OrtEpDevice metadata keys.
#define ANVIL_META_CPU_FEATURES "anvil.cpu_features"
#define ANVIL_META_THREADS "anvil.threads"
