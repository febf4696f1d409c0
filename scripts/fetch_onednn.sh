#!/usr/bin/env bash
# Fetches the pinned oneDNN Debian source package (orig tarball and Debian patches) into
# $ANVIL_CACHE/downloads/onednn-<debian version> and prints that folder. Uses apt-get source with a
# private deb-src list for the pinned suite, on the Debian archive this machine's apt already uses,
# and a private apt state folder, so the system's package lists are never touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
out="$ANVIL_CACHE/downloads/onednn-$ANVIL_ONEDNN_DEBIAN_VERSION"
orig="onednn_${ANVIL_ONEDNN_DEBIAN_VERSION%-*}.orig.tar.xz"
deb="onednn_$ANVIL_ONEDNN_DEBIAN_VERSION.debian.tar.xz"
check() {
  (cd "$out" && printf '%s  %s\n%s  %s\n' "$ANVIL_ONEDNN_ORIG_SHA256" "$orig" "$ANVIL_ONEDNN_DEBIAN_SHA256" "$deb" |
    sha256sum -c --quiet - 2>/dev/null)
}
if [ -f "$out/$orig" ] && [ -f "$out/$deb" ] && check; then echo "$out"; exit 0; fi

# The archive's URI from the system's own apt configuration (deb822 or one-line format).
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v security | grep '/debian' | awk '{for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print $i; exit}}' || true)
fi
[ -n "$mirror" ] || { echo "fetch_onednn: no Debian archive found in the apt configuration" >&2; exit 1; }
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
state=$(mktemp -d "${TMPDIR:-/tmp}/anvil-apt.XXXXXX")
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
echo "deb-src [signed-by=$keyring] $mirror $ANVIL_ONEDNN_DEBIAN_SUITE main" > "$state/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
echo "fetch_onednn: fetching onednn $ANVIL_ONEDNN_DEBIAN_VERSION (Debian source package)" >&2
apt-get "${apt_opts[@]}" -qq update >&2
mkdir -p "$out"
(cd "$out" && apt-get "${apt_opts[@]}" -qq source --download-only "onednn=$ANVIL_ONEDNN_DEBIAN_VERSION" >&2)
check || { echo "fetch_onednn: sha256 mismatch for the onednn source package" >&2; exit 1; }
echo "$out"
