#!/usr/bin/env bash
# fetch_npm.sh NAME VERSION SHA256 OUT: downloads one npm package tarball, checks its sha256.
set -euo pipefail
name=$1 version=$2 sha=$3 out=$4
if [ -f "$out" ] && echo "$sha  $out" | sha256sum -c --quiet - 2>/dev/null; then exit 0; fi
base=${name#*/}
url="${ANVIL_NPM_REGISTRY:-https://registry.npmjs.org}/$name/-/$base-$version.tgz"
mkdir -p "$(dirname "$out")"
echo "fetching $name@$version" >&2
curl -sSfL --retry 3 -o "$out.part" "$url"
echo "$sha  $out.part" | sha256sum -c --quiet - || { echo "sha256 mismatch for $name@$version" >&2; rm -f "$out.part"; exit 1; }
mv "$out.part" "$out"
