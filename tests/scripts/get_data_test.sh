#!/usr/bin/env bash
# scripts/get-fer2013.sh and scripts/get-cifar10.sh on small synthetic archives: a good archive
# unpacks byte for byte, a second run does nothing, and every bad input (checksum mismatch, a
# truncated record, a wrong folder, a bad CSV row, an unknown archive type) fails with a message
# that names the file and what was expected, leaving no data folder behind.
#   get_data_test.sh REPO_DIR WORK_DIR
set -euo pipefail
repo=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
get_fer=("bash" "$repo/scripts/get-fer2013.sh")
get_cifar=("bash" "$repo/scripts/get-cifar10.sh")

# expect_error NAME TEXT COMMAND...: COMMAND must fail and print TEXT on stderr.
expect_error() {
  local name=$1 text=$2
  shift 2
  if "$@" >"$work/$name.out" 2>"$work/$name.err"; then fail "$name: should have failed"; fi
  grep -qF -- "$text" "$work/$name.err" || { cat "$work/$name.err" >&2; fail "$name: expected the error '$text'"; }
  echo "ok: $name: $(head -n1 "$work/$name.err")"
}

# ---- FER2013: a good archive with SHA256SUMS ------------------------------------------------
src=$work/src/fer2013-binary
mkdir -p "$src"
record() { printf "\\x$(printf %02x "$1")"; head -c 2304 /dev/urandom; }  # label byte + 48x48 pixels
{ record 0; record 3; record 6; } >"$src/fer2013-train.bin"
{ record 1; record 5; } >"$src/fer2013-test.bin"
printf '%s\n' angry disgust fear happy sad surprise neutral >"$src/fer2013-labels.txt"
printf 'file,record,csv_row,usage,label,label_order_ambiguous\n' >"$src/fer2013-index.csv"
tar -cJf "$work/fer2013-binary.tar.xz" -C "$work/src" fer2013-binary
(cd "$work" && sha256sum fer2013-binary.tar.xz && cd src && sha256sum fer2013-binary/*) >"$work/SHA256SUMS"

"${get_fer[@]}" --from "$work/fer2013-binary.tar.xz" --dest "$work/out" >"$work/fer.log" 2>&1 ||
  { cat "$work/fer.log"; fail "a good FER2013 archive was refused"; }
grep -q "using checksums from $work/SHA256SUMS (beside the archive)" "$work/fer.log" || fail "SHA256SUMS beside the archive not used"
grep -q "SHA-256 of fer2013-binary.tar.xz matches" "$work/fer.log" || fail "archive checksum not checked"
grep -q "SHA-256 of 4 files in the unpacked" "$work/fer.log" || fail "unpacked files not checked"
for f in fer2013-train.bin fer2013-test.bin fer2013-labels.txt fer2013-index.csv; do
  cmp -s "$src/$f" "$work/out/fer2013-binary/$f" || fail "$f differs after unpacking"
done
[[ -z $(find "$work/out" -maxdepth 1 -name '.get-*') ]] || fail "a temporary folder was left in the destination"
"${get_fer[@]}" --from "$work/fer2013-binary.tar.xz" --dest "$work/out" >"$work/fer2.log" 2>&1 || fail "second run failed"
grep -q "nothing to do" "$work/fer2.log" || fail "second run should do nothing"
echo "ok: FER2013 archive unpacked, checked and idempotent"

# ---- FER2013: bad inputs --------------------------------------------------------------------
mkdir -p "$work/bad"
sed 's/^[0-9a-f]\{8\}/00000000/' "$work/SHA256SUMS" | grep train >"$work/bad/SHA256SUMS.train"
grep -v train "$work/SHA256SUMS" >>"$work/bad/SHA256SUMS.train"
expect_error fer_file_checksum "SHA-256 mismatch for fer2013-binary/fer2013-train.bin in the unpacked" \
  "${get_fer[@]}" --from "$work/fer2013-binary.tar.xz" --checksums "$work/bad/SHA256SUMS.train" --dest "$work/bad/out1"
[[ ! -e "$work/bad/out1/fer2013-binary" ]] || fail "a data folder was left after a checksum mismatch"
sed 's/^[0-9a-f]\{8\}/00000000/' "$work/SHA256SUMS" >"$work/bad/SHA256SUMS.all"
expect_error fer_archive_checksum "SHA-256 mismatch for archive $work/fer2013-binary.tar.xz" \
  "${get_fer[@]}" --from "$work/fer2013-binary.tar.xz" --checksums "$work/bad/SHA256SUMS.all" --dest "$work/bad/out2"
head -c 4000 "$src/fer2013-train.bin" >"$work/bad/short.bin"
mkdir -p "$work/bad/src/fer2013-binary" && cp "$src"/* "$work/bad/src/fer2013-binary/"
cp "$work/bad/short.bin" "$work/bad/src/fer2013-binary/fer2013-train.bin"
tar -cJf "$work/bad/truncated.tar.xz" -C "$work/bad/src" fer2013-binary
expect_error fer_truncated "not a whole number of 2305-byte records" \
  "${get_fer[@]}" --from "$work/bad/truncated.tar.xz" --dest "$work/bad/out3"
tar -cJf "$work/bad/wrong.tar.xz" -C "$work/bad" short.bin
expect_error fer_wrong_folder "has no fer2013-binary/ folder; is it fer2013-binary.tar.xz?" \
  "${get_fer[@]}" --from "$work/bad/wrong.tar.xz" --dest "$work/bad/out4"
cp "$work/bad/short.bin" "$work/bad/data.zip"
expect_error fer_unknown_type "don't know how to unpack '$work/bad/data.zip'" \
  "${get_fer[@]}" --from "$work/bad/data.zip" --dest "$work/bad/out5"
expect_error fer_missing "archive '$work/nowhere.tar.xz' does not exist" \
  "${get_fer[@]}" --from "$work/nowhere.tar.xz" --dest "$work/bad/out6"
expect_error fer_no_source "no anonymous official download" "${get_fer[@]}" --dest "$work/bad/out7"
for d in out2 out3 out4 out5 out6 out7; do
  [[ ! -e "$work/bad/$d/fer2013-binary" ]] || fail "$d: a data folder was left after an error"
done

# ---- FER2013: Kaggle CSV --------------------------------------------------------------------
pixels() { local v=$1 n=$2; yes "$v" | head -n "$n" | paste -sd' '; }
{
  echo "emotion,pixels,Usage"
  echo "3,$(pixels 7 2304),Training"
  echo "5,$(pixels 200 2304),PrivateTest"
  echo "1,$(pixels 9 2304),PublicTest"
} >"$work/fer2013.csv"
"${get_fer[@]}" --csv "$work/fer2013.csv" --dest "$work/csv" >"$work/csv.log" 2>&1 ||
  { cat "$work/csv.log"; fail "a good CSV was refused"; }
grep -q "1 Training, 1 PublicTest, 1 PrivateTest rows" "$work/csv.log" || fail "CSV row counts not reported"
[[ $(wc -c <"$work/csv/fer2013-binary/fer2013-test.bin") -eq 4610 ]] || fail "test.bin should hold 2 records"
# PublicTest comes before PrivateTest: the first test record has label 1 and pixels 9.
[[ $(od -An -tu1 -N2 "$work/csv/fer2013-binary/fer2013-test.bin" | tr -s ' ') == " 1 9" ]] ||
  fail "test.bin should start with the PublicTest row"
{
  echo "emotion,pixels,Usage"
  echo "3,$(pixels 7 2304),Training"
  echo "2,$(pixels 7 2303),PublicTest"
} >"$work/bad/short.csv"
expect_error csv_short_row "'$work/bad/short.csv': line 3, field 'pixels' holds 2303 values, expected 2304 (48x48)" \
  "${get_fer[@]}" --csv "$work/bad/short.csv" --dest "$work/bad/csv1"
{
  echo "emotion,pixels,Usage"
  echo "9,$(pixels 7 2304),Training"
} >"$work/bad/label.csv"
expect_error csv_bad_label "line 2, field 'emotion': label 9 is outside 0..6" \
  "${get_fer[@]}" --csv "$work/bad/label.csv" --dest "$work/bad/csv2"
[[ ! -e "$work/bad/csv1/fer2013-binary" && ! -e "$work/bad/csv2/fer2013-binary" ]] ||
  fail "a data folder was left after a bad CSV"

# ---- CIFAR-10: bad archives and the already-there check -------------------------------------
mkdir -p "$work/cifar/src/cifar-10-batches-bin"
head -c 1000 /dev/zero >"$work/cifar/src/cifar-10-batches-bin/data_batch_1.bin"
tar -czf "$work/cifar/short.tar.gz" -C "$work/cifar/src" cifar-10-batches-bin
expect_error cifar_short_batch "cifar-10-batches-bin/data_batch_1.bin in '$work/cifar/short.tar.gz' is 1000 bytes, expected 30730000" \
  "${get_cifar[@]}" --from "$work/cifar/short.tar.gz" --dest "$work/cifar/out"
expect_error cifar_wrong_folder "has no cifar-10-batches-bin/ folder; is it the CIFAR-10 binary version?" \
  "${get_cifar[@]}" --from "$work/bad/wrong.tar.xz" --dest "$work/cifar/out"
[[ ! -e "$work/cifar/out/cifar-10-batches-bin" ]] || fail "a CIFAR-10 folder was left after an error"
mkdir -p "$work/cifar/done/cifar-10-batches-bin"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  truncate -s 30730000 "$work/cifar/done/cifar-10-batches-bin/$f.bin"
done
"${get_cifar[@]}" --from "$work/bad/wrong.tar.xz" --dest "$work/cifar/done" >"$work/cifar.log" 2>&1 ||
  { cat "$work/cifar.log"; fail "a complete CIFAR-10 folder should need nothing"; }
grep -q "nothing to do" "$work/cifar.log" || fail "a complete CIFAR-10 folder should need nothing"
echo "ok: CIFAR-10 archive checks"
echo "PASS"
