#!/usr/bin/env bash
# predict on untrusted image files (run by ctest as faults.predict_images):
#   predict_images_e2e.sh TRAIN_CIFAR10 PREDICT IMAGES_DIR WORK_DIR
# IMAGES_DIR: fuzz/seeds/image (small PNG, JPEG, PGM and PPM files). A model trained for one
# epoch on synthetic CIFAR-10 files classifies the good images; a PNG or JPEG cut short, a PNG
# with a corrupt header, a BMP, a text file and an empty file are each an error naming the file,
# with no classification printed for them, while the good images given with them are still
# classified; the exit status is then 1.
set -euo pipefail
train=$1 predict=$2 images=$3 work=$4
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fault_test_in "$work" 64 32
"$train" --data data --train-limit 64 --test-limit 32 --epochs 1 --threads 2 --save model.safetensors >train.log 2>&1 ||
  fail "training failed: $(tail -n 3 train.log)"

good=("$images/rgb_8x6.png" "$images/palette_interlaced_9x9.png" "$images/rgb_16x16.jpg" "$images/grey_8x8.jpg" "$images/tiny.ppm")
"$predict" --model model.safetensors "${good[@]}" >good.log 2>&1 || fail "predict on good images: $(cat good.log)"
for f in "${good[@]}"; do grep -q "^$f ([0-9]*x[0-9]*)$" good.log || fail "no result for $f: $(cat good.log)"; done
echo "ok: $(grep -c '^  1\. ' good.log) good images classified"

size() { stat -c %s "$1"; }
head -c $(( $(size "$images/rgb_16x16.jpg") / 2 )) "$images/rgb_16x16.jpg" >cut.jpg
head -c $(( $(size "$images/rgb_8x6.png") - 20 )) "$images/rgb_8x6.png" >cut.png
cp "$images/rgb_8x6.png" crc.png && printf '\x7f' | dd of=crc.png bs=1 seek=17 conv=notrunc status=none  # IHDR width
printf 'BM\0\0\0\0' >image.bmp
echo "not an image" >text.png
: >empty.jpg
declare -A expect=([cut.jpg]="JPEG: Premature end of JPEG file" [cut.png]="PNG: " [crc.png]="PNG: IHDR: CRC error"
                   [image.bmp]="a BMP file, which is not supported" [text.png]="not a PNG, JPEG or binary PGM/PPM file"
                   [empty.jpg]="the file is empty")
status=0
"$predict" --model model.safetensors cut.jpg "$images/rgb_8x6.png" cut.png crc.png image.bmp text.png empty.jpg \
  >bad.log 2>bad.err || status=$?
[[ $status -eq 1 ]] || fail "predict on bad images exited with $status"
for f in "${!expect[@]}"; do
  grep -qF "error: cannot read image '$f': ${expect[$f]}" bad.err || fail "$f: expected '${expect[$f]}', got: $(cat bad.err)"
  ! grep -q "^$f (" bad.log || fail "$f was classified: $(cat bad.log)"
done
grep -q "^$images/rgb_8x6.png (8x6)$" bad.log || fail "the good image among the bad ones was not classified"
echo "ok: every bad image refused by name:"
cat bad.err
