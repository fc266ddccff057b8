#!/usr/bin/env bash
# Fetch, check and unpack the CIFAR-10 binary version so that DIR/cifar-10-batches-bin/ holds
# data_batch_1.bin .. data_batch_5.bin, test_batch.bin and batches.meta.txt.
#
#   scripts/get-cifar10.sh [--from ARCHIVE] [--checksums FILE] [--dest DIR]
#
#   --from ARCHIVE    use a local .tar.gz / .tgz / .tar.xz / .txz instead of downloading
#                     (no network). If a SHA256SUMS file sits beside it, it is used as
#                     --checksums unless --checksums is given.
#   --checksums FILE  sha256sum-style list ("<sha256>  <path>" per line). The archive is checked
#                     against the line whose file name equals the archive's, and every listed
#                     "cifar-10-batches-bin/<file>" is checked after unpacking. Other lines
#                     (other data sets) are ignored.
#   --dest DIR        where to put cifar-10-batches-bin/ (default: data/ at the repository root)
#
# Without --from it downloads https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz with curl
# or wget and checks the MD5 that the CIFAR-10 page (https://www.cs.toronto.edu/~kriz/cifar.html)
# publishes for it: c32a1d4ab5d03f1284b67883e8d87530.
#
# Idempotent: if DIR/cifar-10-batches-bin already holds the six .bin files with the right sizes
# (30,730,000 bytes each) it says so and exits 0 without unpacking anything (checksums, if
# given, are still verified). Otherwise it unpacks into a temporary folder inside DIR and renames
# the result into place, so a failed or interrupted run never leaves a half-written
# cifar-10-batches-bin. Any failure prints a message and exits non-zero.
set -euo pipefail

readonly URL="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
readonly MD5="c32a1d4ab5d03f1284b67883e8d87530"  # published on https://www.cs.toronto.edu/~kriz/cifar.html
readonly FOLDER="cifar-10-batches-bin"
readonly BIN_FILES=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)
readonly BIN_BYTES=30730000  # 10,000 records of 1 + 3*32*32 bytes

prog=$(basename "$0")
die() { echo "$prog: error: $*" >&2; exit 1; }
say() { echo "$prog: $*"; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

repo_root=$(cd "$(dirname "$0")/.." && pwd)
from="" checksums="" dest="$repo_root/data"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) [[ $# -ge 2 ]] || die "--from needs an archive path"; from=$2; shift 2 ;;
    --from=*) from=${1#*=}; shift ;;
    --checksums) [[ $# -ge 2 ]] || die "--checksums needs a file"; checksums=$2; shift 2 ;;
    --checksums=*) checksums=${1#*=}; shift ;;
    --dest) [[ $# -ge 2 ]] || die "--dest needs a folder"; dest=$2; shift 2 ;;
    --dest=*) dest=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$prog: error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$dest" ]] || die "--dest must not be empty"

# ---- tools -------------------------------------------------------------------------------
if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | awk '{print $1}'; }
elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | awk '{print $1}'; }
else sha256() { die "neither sha256sum nor shasum is installed (needed for --checksums)"; }
fi
if command -v md5sum >/dev/null 2>&1; then md5() { md5sum "$1" | awk '{print $1}'; }
elif command -v md5 >/dev/null 2>&1; then md5() { md5 -q "$1"; }
else md5() { die "neither md5sum nor md5 is installed (needed to check the download)"; }
fi
file_size() { wc -c <"$1" | tr -d ' '; }

# ---- inputs ------------------------------------------------------------------------------
if [[ -n "$from" ]]; then
  [[ -e "$from" ]] || die "archive '$from' does not exist"
  [[ -f "$from" && -r "$from" ]] || die "archive '$from' is not a readable file"
  if [[ -z "$checksums" && -f "$(dirname "$from")/SHA256SUMS" ]]; then
    checksums="$(dirname "$from")/SHA256SUMS"
    say "using checksums from $checksums (beside the archive)"
  fi
fi
if [[ -n "$checksums" ]]; then
  [[ -f "$checksums" && -r "$checksums" ]] || die "checksum file '$checksums' does not exist or is unreadable"
  # Normalise to "<hash> <path>" lines; accept "hash  path" and "hash *path" (binary mode).
  checksum_lines=$(sed -nE 's/^([0-9a-fA-F]{64}) [ *](.+)$/\1 \2/p' "$checksums")
  [[ -n "$checksum_lines" ]] || die "'$checksums' has no lines of the form '<sha256>  <path>'"
fi

# Expected sha256 of a path listed in the checksum file, matched on the exact path.
expected_sha256() { awk -v p="$1" '$2 == p {print tolower($1); exit}' <<<"$checksum_lines"; }
# Listed files of the data folder ("cifar-10-batches-bin/<name>"), one per line.
listed_data_files() { awk -v pre="$FOLDER/" 'index($2, pre) == 1 {print substr($2, length(pre) + 1)}' <<<"$checksum_lines"; }

# Checks every listed cifar-10-batches-bin/<file> inside folder $1 (described as $2 in
# messages); dies on the first mismatch.
verify_folder() {
  local folder=$1 where=$2 name want got n=0
  local names
  names=$(listed_data_files)
  [[ -n "$names" ]] || die "'$checksums' lists no $FOLDER/ files to check"
  while IFS= read -r name; do
    [[ -f "$folder/$name" ]] || die "$FOLDER/$name is listed in '$checksums' but missing from $where"
    want=$(expected_sha256 "$FOLDER/$name")
    got=$(sha256 "$folder/$name")
    [[ "$got" == "$want" ]] || die "SHA-256 mismatch for $FOLDER/$name in $where: expected $want (from '$checksums'), got $got"
    n=$((n + 1))
  done <<<"$names"
  say "SHA-256 of $n files in $where match $checksums"
}

# 0 if folder $1 holds the six .bin files with the right sizes.
complete_folder() {
  local f
  for f in "${BIN_FILES[@]}"; do
    [[ -f "$1/$f" ]] || return 1
    [[ "$(file_size "$1/$f")" == "$BIN_BYTES" ]] || return 1
  done
  return 0
}

target="$dest/$FOLDER"

# ---- already there? ----------------------------------------------------------------------
if complete_folder "$target"; then
  say "$target already holds the six CIFAR-10 .bin files with the right sizes; nothing to do"
  if [[ -n "$checksums" ]]; then verify_folder "$target" "$target"; fi
  exit 0
fi
if [[ -e "$target" ]]; then
  say "$target exists but is incomplete; it will be replaced once a fresh copy is unpacked"
fi

# ---- fetch -------------------------------------------------------------------------------
mkdir -p "$dest" || die "cannot create '$dest'"
tmp=$(mktemp -d "$dest/.get-cifar10.XXXXXX") || die "cannot create a temporary folder in '$dest'"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "$from" ]]; then
  archive=$from
else
  archive="$tmp/cifar-10-binary.tar.gz"
  say "downloading $URL"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 --connect-timeout 30 -o "$archive" "$URL" || die "download of $URL failed (curl)"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=3 --timeout=30 -O "$archive" "$URL" || die "download of $URL failed (wget)"
  else
    die "neither curl nor wget is installed; download $URL yourself and pass --from PATH"
  fi
  got=$(md5 "$archive")
  [[ "$got" == "$MD5" ]] || die "MD5 of the download is $got, expected the published $MD5 (corrupt or changed download)"
  say "MD5 of the download matches the published $MD5"
fi

if [[ -n "$checksums" ]]; then
  want=$(awk -v b="$(basename "$archive")" '{n = $2; sub(/.*\//, "", n)} n == b {print tolower($1); exit}' <<<"$checksum_lines")
  if [[ -n "$want" ]]; then
    got=$(sha256 "$archive")
    [[ "$got" == "$want" ]] || die "SHA-256 mismatch for archive $archive: expected $want, got $got"
    say "SHA-256 of $(basename "$archive") matches $checksums"
  else
    say "note: $checksums has no line for $(basename "$archive"); checking the unpacked files only"
  fi
fi

# ---- unpack ------------------------------------------------------------------------------
case "$archive" in
  *.tar.gz|*.tgz) tar_flags=-xzf ;;
  *.tar.xz|*.txz) tar_flags=-xJf ;;
  *.tar) tar_flags=-xf ;;
  *) die "don't know how to unpack '$archive' (expected .tar.gz, .tgz, .tar.xz or .txz)" ;;
esac
mkdir "$tmp/unpack"
say "unpacking $archive"
tar "$tar_flags" "$archive" -C "$tmp/unpack" || die "could not unpack '$archive' (damaged, or not a tar archive?)"
[[ -d "$tmp/unpack/$FOLDER" ]] || die "'$archive' has no $FOLDER/ folder; is it the CIFAR-10 binary version?"
for f in "${BIN_FILES[@]}"; do
  [[ -f "$tmp/unpack/$FOLDER/$f" ]] || die "'$archive' lacks $FOLDER/$f"
  size=$(file_size "$tmp/unpack/$FOLDER/$f")
  [[ "$size" == "$BIN_BYTES" ]] || die "$FOLDER/$f in '$archive' is $size bytes, expected $BIN_BYTES"
done
[[ -f "$tmp/unpack/$FOLDER/batches.meta.txt" ]] || die "'$archive' lacks $FOLDER/batches.meta.txt"
if [[ -n "$checksums" ]]; then verify_folder "$tmp/unpack/$FOLDER" "the unpacked '$archive'"; fi

# ---- move into place (rename within one file system) --------------------------------------
if [[ -e "$target" ]]; then mv "$target" "$tmp/old" || die "cannot move the incomplete '$target' aside"; fi
mv "$tmp/unpack/$FOLDER" "$target" || die "cannot move the unpacked folder to '$target'"
say "CIFAR-10 is ready in $target"
