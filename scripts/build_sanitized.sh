#!/usr/bin/env bash
# Configures and builds one instrumented Anvil tree with clang 16 (installed from Debian 12's
# archive if missing: clang-16 and libclang-rt-16-dev, which has libFuzzer and the sanitizer runtimes;
# clang 14 cannot build Anvil: it lacks C++20 lambda captures of structured bindings).
#   scripts/build_sanitized.sh asan DIR   ASan+UBSan plus libFuzzer coverage (ANVIL_FUZZ): the
#                                         plugin, the C++ EP tests, fuzz_model and fuzz_kernel
#   scripts/build_sanitized.sh tsan DIR   TSan: the plugin and the C++ EP tests
# Both: -O1, line tables only, no runner (anvil_run),
# oneDNN the prebuilt uninstrumented static library. The build log goes to DIR/build.log.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/versions.sh"
kind=$1 dir=$2
python=${ANVIL_PYTHON:-$ANVIL_CACHE/venv/bin/python}

clang_packages="clang-16 libclang-rt-16-dev"
missing=()
for p in $clang_packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "sanitizers: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
fi

case $kind in
  asan) sanitize=address,undefined; fuzz=ON; targets=(anvil_ep anvil_ep_tests fuzz_model fuzz_kernel) ;;
  tsan) sanitize=thread; fuzz=OFF; targets=(anvil_ep anvil_ep_tests) ;;
  *) echo "usage: $0 asan|tsan DIR" >&2; exit 2 ;;
esac
# A tree configured otherwise (an older gcc build-asan, say) is configured afresh: CMake cannot
# change the compiler of an existing tree.
if [ -f "$dir/CMakeCache.txt" ] &&
   ! { grep -q "^CMAKE_CXX_COMPILER:.*clang++-16$" "$dir/CMakeCache.txt" &&
       grep -q "^ANVIL_SANITIZE:STRING=$sanitize$" "$dir/CMakeCache.txt" &&
       grep -q "^ANVIL_FUZZ:BOOL=$fuzz$" "$dir/CMakeCache.txt"; }; then
  echo "sanitizers: $dir was configured otherwise; configuring it afresh" >&2
  rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
fi
if [ ! -f "$dir/CMakeCache.txt" ]; then
  launcher=(); command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  mkdir -p "$dir"
  cmake -S "$top" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++-16 -DCMAKE_BUILD_TYPE=Release \
    -DANVIL_SANITIZE="$sanitize" -DANVIL_FUZZ="$fuzz" -DANVIL_BUILD_TOOLS=OFF \
    -DANVIL_PYTHON="$python" "${launcher[@]}" >"$dir/configure.log" 2>&1 ||
    { tail -30 "$dir/configure.log" >&2; exit 1; }
fi
cmake --build "$dir" -j "${ANVIL_JOBS:-$(nproc)}" --target "${targets[@]}" >"$dir/build.log" 2>&1 ||
  { grep -E "error|FAILED" "$dir/build.log" | head -40 >&2; tail -20 "$dir/build.log" >&2; exit 1; }
