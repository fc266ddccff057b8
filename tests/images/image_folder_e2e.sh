#!/usr/bin/env bash
# End-to-end test of image folders (run by ctest as examples.image_folder):
#   image_folder_e2e.sh TRAIN_CIFAR10 TRAIN_IMAGES PREDICT CIFAR10_DIR WORK_DIR
# 1. The CIFAR-10 test batch written out as 10 class folders of lossless PNGs
#    (scripts/cifar10_to_folder.py): a model evaluated by predict on that folder gives exactly the
#    accuracy and confusion matrix it gives on the binary test batch.
# 2. train_images on a 1,000-image slice of that folder with --val-split, --checkpoint, --save,
#    --save-onnx, then --resume; predict classifies a PNG with the folder's class names and
#    evaluates the model on a folder; a corrupt image stops training unless --skip-bad-images.
# Skipped (77) without CIFAR-10, or without Python's numpy and OpenCV (the PNG writer).
set -euo pipefail
train_cifar=$1 train_images=$2 predict=$3 cifar=$4 work=$5
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../support/require_data.sh"
require_cifar10 "$cifar"
/usr/bin/python3 -c "import numpy, cv2" 2>/dev/null ||
  { echo "CTNN_SKIP: no numpy or OpenCV for /usr/bin/python3 (Debian: python3-numpy python3-opencv)"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
cd "$work"

/usr/bin/python3 "$here/../../scripts/cifar10_to_folder.py" "$cifar" test png >/dev/null
[[ $(find png -name '*.png' | wc -l) -eq 10000 ]] || fail "expected 10000 PNGs"
"$train_cifar" --data "$cifar" --train-limit 1000 --test-limit 100 --epochs 1 --threads 2 --save seed.safetensors >seed.log
"$predict" --model seed.safetensors --eval "$cifar" --threads 2 >binary.log
"$predict" --model seed.safetensors --eval png --threads 2 >folder.log
grep -q "10000 images in 10 classes" folder.log || fail "predict did not read the folder: $(head -n 3 folder.log)"
acc_bin=$(grep '^test accuracy' binary.log | sed 's/ of .*//')
acc_png=$(grep '^test accuracy' folder.log | sed 's/ of .*//')
[[ -n "$acc_bin" && "$acc_bin" == "$acc_png" ]] || fail "accuracy differs: binary '$acc_bin', PNG folder '$acc_png'"
diff <(sed -n '/^confusion/,$p' binary.log) <(sed -n '/^confusion/,$p' folder.log) || fail "confusion matrices differ"
echo "ok: CIFAR-10 test batch as PNGs: $acc_png, the same confusion matrix as the binary file"

mkdir small
for dir in png/*/; do
  c=$(basename "$dir"); mkdir "small/$c"
  files=("$dir"*.png)
  cp "${files[@]:0:100}" "small/$c/"
done
common=(--data small --val-split 0.2 --input 32 --batch-size 50 --schedule none --threads 2)
"$train_images" "${common[@]}" --epochs 2 --save full.safetensors --save-onnx full.onnx >full.log
grep -q "1000 images in 10 classes" full.log || fail "train_images summary: $(head -n 2 full.log)"
grep -q "800 training / 200 validation images" full.log || fail "split: $(grep training full.log)"
grep -q "^confusion matrix" full.log || fail "no confusion matrix"
[[ -s full.onnx ]] || fail "no ONNX file"
"$train_images" "${common[@]}" --epochs 1 --checkpoint ck >half.log
"$train_images" "${common[@]}" --epochs 2 --resume ck --save resumed.safetensors >resumed.log
cmp full.safetensors resumed.safetensors || fail "1 + 1 epochs (resumed) differ from 2 epochs"
status=0
"$train_images" "${common[@]}" --epochs 2 --lr 0.5 --resume ck >bad.log 2>&1 || status=$?
[[ $status -ne 0 ]] && grep -q -- "--lr" bad.log || fail "resume with another --lr was not refused"
echo "ok: train_images trains, checkpoints and resumes to the same weights"

first_cat=(small/cat/*.png)
"$predict" --model full.safetensors "${first_cat[0]}" >one.log
grep -qE "^  1\. (airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck) " one.log || fail "predict: $(cat one.log)"
"$predict" --model full.safetensors --eval small >eval.log
grep -q "^test accuracy .*(.* / 1000 images" eval.log || fail "predict --eval on a folder: $(grep accuracy eval.log)"
first_dog=(small/dog/*.png)
head -c 100 "${first_dog[0]}" >small/dog/zz_corrupt.png
status=0
"$train_images" "${common[@]}" --epochs 1 >corrupt.log 2>&1 || status=$?
[[ $status -eq 1 ]] && grep -q "zz_corrupt.png" corrupt.log || fail "a corrupt image did not stop the run: $(tail -n 2 corrupt.log)"
"$train_images" "${common[@]}" --epochs 1 --skip-bad-images >skip.log
grep -q "skipped 1 unreadable images" skip.log && grep -q "zz_corrupt.png" skip.log || fail "--skip-bad-images: $(head -n 3 skip.log)"
echo "ok: predict names the folder's classes; corrupt images stop the run or are skipped and listed"
