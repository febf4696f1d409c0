#!/usr/bin/env bash
# Builds the pinned oneDNN (scripts/versions.sh) the way Anvil needs it and prints its install
# prefix (include/, lib/libdnnl.a). The result is cached in $ANVIL_CACHE/onednn-<version>-<key>,
# where <key> hashes the configuration below: change an option and the next run rebuilds.
#   - THREADPOOL runtime: oneDNN's parallel loops call back into Anvil, which runs them on ORT's
#     intra-op pool (no OpenMP, no threads of its own);
#   - a static, position-independent library (the plugin links it with its symbols hidden);
#   - inference only, no graph API, no GPU, and only the primitives Anvil's kernels create; the
#     sources the plugin never links (scripts/onednn_unused_sources.txt) are not even compiled.
# A cold build takes about 20 minutes on 2 idle cores (40 CPU-minutes); ANVIL_DNNL_ROOT=<prefix> uses your own
# THREADPOOL build instead (CMake checks it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

options=(
  -DCMAKE_BUILD_TYPE=Release
  -DONEDNN_LIBRARY_TYPE=STATIC
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DONEDNN_CPU_RUNTIME=THREADPOOL
  -DONEDNN_GPU_RUNTIME=NONE
  -DONEDNN_BUILD_GRAPH=OFF
  -DONEDNN_BUILD_TESTS=OFF
  -DONEDNN_BUILD_EXAMPLES=OFF
  -DONEDNN_BUILD_DOC=OFF
  -DONEDNN_ENABLE_WORKLOAD=INFERENCE
  "-DONEDNN_ENABLE_PRIMITIVE=CONVOLUTION;DECONVOLUTION;MATMUL;INNER_PRODUCT;REORDER"
  -DONEDNN_ENABLE_GEMM_KERNELS_ISA=AVX512
  -DONEDNN_ENABLE_JIT_PROFILING=OFF
  -DONEDNN_ENABLE_ITT_TASKS=OFF
  # Every function in its own section, so the plugin's link can place the ones sessions run
  # together (src/ep/code_order.txt): fewer code pages per process.
  -DCMAKE_CXX_FLAGS=-ffunction-sections
  -DCMAKE_C_FLAGS=-ffunction-sections
)
unused="$here/onednn_unused_sources.txt"  # sources Anvil never links, deleted before configuring
# Anvil's own changes, applied after Debian's (each file says what it changes and why).
own_patches=("$here"/onednn_patches/*.patch)
key=$( (printf '%s\n' "$ANVIL_ONEDNN_DEBIAN_VERSION" "$ANVIL_ONEDNN_PATCHES" "${options[@]}"; cat "$unused" "${own_patches[@]}") |
  sha256sum | cut -c1-12)
prefix="$ANVIL_CACHE/onednn-$ANVIL_ONEDNN_VERSION-$key"
if [ -f "$prefix/.complete" ]; then echo "$prefix"; exit 0; fi

src_dir=$("$here/fetch_onednn.sh")
work=$(mktemp -d "${TMPDIR:-/tmp}/anvil-onednn.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build_onednn: building oneDNN $ANVIL_ONEDNN_VERSION ($key); about 20 minutes on 2 cores, once" >&2
tar xf "$src_dir/onednn_${ANVIL_ONEDNN_DEBIAN_VERSION%-*}.orig.tar.xz" -C "$work"
tar xf "$src_dir/onednn_$ANVIL_ONEDNN_DEBIAN_VERSION.debian.tar.xz" -C "$work"
source_tree=$(find "$work" -maxdepth 1 -type d -name 'oneDNN-*' | head -1)
for p in $ANVIL_ONEDNN_PATCHES; do
  patch -d "$source_tree" -p1 -s < "$work/debian/patches/$p"
done
for p in "${own_patches[@]}"; do
  patch -d "$source_tree" -p1 -s < "$p"
done
grep -v '^#' "$unused" | while read -r f; do
  [ -z "$f" ] || rm -f "$source_tree/$f"
done
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
# A compiler cache, when there is one, makes a rebuild after a small change (a patch) take minutes.
command -v ccache >/dev/null && gen+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S "$source_tree" -B "$work/build" "${gen[@]}" -DCMAKE_INSTALL_PREFIX="$prefix.part" "${options[@]}" >&2
cmake --build "$work/build" -j "$(nproc)" >&2
rm -rf "$prefix.part" "$prefix"
cmake --install "$work/build" >&2
# Which of Anvil's patches this build has (CMakeLists.txt reads it: a kernel may rely on one).
mkdir -p "$prefix.part/share/anvil"
for p in "${own_patches[@]}"; do basename "$p"; done > "$prefix.part/share/anvil/patches.txt"
mv "$prefix.part" "$prefix"
touch "$prefix/.complete"
echo "$prefix"
