#!/usr/bin/env bash
# Fetches Debian's libonnx-testdata (the version pinned in versions.sh) for tests/backend and
# prints the folder holding its data/ tree. The .deb comes from the machine's Debian archive with
# `apt-get download` into $ANVIL_CACHE/downloads, is checked against its pinned sha256 and unpacked
# with `dpkg-deb -x` into $ANVIL_CACHE/backend-data (no root needed, nothing installed).
# Idempotent: a second run downloads nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
ver=$ANVIL_ONNX_TESTDATA_DEBIAN_VERSION
sha=$ANVIL_ONNX_TESTDATA_DEB_SHA256
root="$ANVIL_CACHE/backend-data/libonnx-testdata-$ver"
data="$root/usr/share/libonnx-testdata"
if [ -f "$root/.complete" ]; then echo "$data"; exit 0; fi

dl="$ANVIL_CACHE/downloads"
deb="$dl/libonnx-testdata_${ver}_all.deb"
sha_ok() { [ -f "$1" ] && echo "$sha  $1" | sha256sum -c --quiet - >/dev/null 2>&1; }
if ! sha_ok "$deb"; then
  mkdir -p "$dl"
  tmp=$(mktemp -d "$dl/.libonnx-testdata.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  get() { (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "libonnx-testdata=$ver") >&2; }
  if ! get; then
    # A fresh machine may have no package lists yet.
    sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    echo "fetch_backend_data: apt-get update" >&2
    $sudo_cmd apt-get update -qq >&2
    get
  fi
  got=$(ls "$tmp"/libonnx-testdata_*.deb)
  sha_ok "$got" || { echo "fetch_backend_data: sha256 mismatch for $got (want $sha)" >&2; exit 1; }
  mv "$got" "$deb"
fi
rm -rf "$root"
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
[ -d "$data/data/node" ] || { echo "fetch_backend_data: $data/data/node missing in $deb" >&2; exit 1; }
touch "$root/.complete"
echo "$data"
