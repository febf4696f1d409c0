#!/usr/bin/env bash
# Fetches the pinned ORT SDK (include/ + lib/) into $ANVIL_CACHE/onnxruntime-<version> and prints
# that path. Idempotent; checks sha256 of the download and of the library.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
root="$ANVIL_CACHE/onnxruntime-$ANVIL_ORT_VERSION"
if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi
mkdir -p "$ANVIL_CACHE/downloads"
tgz="$ANVIL_CACHE/downloads/$ANVIL_ORT_NPM_PACKAGE-$ANVIL_ORT_NPM_VERSION.tgz"
"$here/fetch_npm.sh" "$ANVIL_ORT_NPM_PACKAGE" "$ANVIL_ORT_NPM_VERSION" "$ANVIL_ORT_NPM_SHA256" "$tgz" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hdr='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64_x86_64-simulator/onnxruntime.framework/Headers'
tar xzf "$tgz" -C "$tmp" "$hdr" package/Plugins/Linux/x64/libonnxruntime.so
rm -rf "$root"; mkdir -p "$root/include" "$root/lib"
cp "$tmp/$hdr"/*.h "$root/include/"
lib="$tmp/package/Plugins/Linux/x64/libonnxruntime.so"
echo "$ANVIL_ORT_LIB_SHA256  $lib" | sha256sum -c --quiet - >&2
cp "$lib" "$root/lib/libonnxruntime.so.$ANVIL_ORT_VERSION"
ln -sf "libonnxruntime.so.$ANVIL_ORT_VERSION" "$root/lib/libonnxruntime.so.1"
ln -sf "libonnxruntime.so.1" "$root/lib/libonnxruntime.so"
grep -q "define ORT_API_VERSION $ANVIL_ORT_API_VERSION\$" "$root/include/onnxruntime_c_api.h" ||
  { echo "fetch_ort: headers are not ORT API $ANVIL_ORT_API_VERSION" >&2; exit 1; }
for h in onnxruntime_c_api.h onnxruntime_cxx_api.h onnxruntime_ep_c_api.h; do
  [ -f "$root/include/$h" ] || { echo "fetch_ort: $h missing" >&2; exit 1; }
done
touch "$root/.complete"
echo "$root"
