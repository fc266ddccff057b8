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
ARCHIVE_HINT="is it the CIFAR-10 binary version?"
# shellcheck source=lib/data-archive.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/data-archive.sh"

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

# ---- inputs ------------------------------------------------------------------------------
if [[ -n "$from" ]]; then check_archive_argument "$from"; fi
if [[ -n "$checksums" ]]; then load_checksums; fi

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
make_temporary_folder "$dest"

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

if [[ -n "$checksums" ]]; then verify_archive "$archive"; fi

# ---- unpack ------------------------------------------------------------------------------
mkdir "$tmp/unpack"
unpack_archive "$archive" "$tmp/unpack"
for f in "${BIN_FILES[@]}"; do
  [[ -f "$tmp/unpack/$FOLDER/$f" ]] || die "'$archive' lacks $FOLDER/$f"
  size=$(file_size "$tmp/unpack/$FOLDER/$f")
  [[ "$size" == "$BIN_BYTES" ]] || die "$FOLDER/$f in '$archive' is $size bytes, expected $BIN_BYTES"
done
[[ -f "$tmp/unpack/$FOLDER/batches.meta.txt" ]] || die "'$archive' lacks $FOLDER/batches.meta.txt"
if [[ -n "$checksums" ]]; then verify_folder "$tmp/unpack/$FOLDER" "the unpacked '$archive'"; fi

# ---- move into place (rename within one file system) --------------------------------------
move_into_place "$tmp/unpack/$FOLDER" "$target"
say "CIFAR-10 is ready in $target"
