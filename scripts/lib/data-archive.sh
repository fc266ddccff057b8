# Shared by scripts/get-cifar10.sh and scripts/get-fer2013.sh (sourced, not run): messages,
# hashing, the SHA256SUMS checks and unpacking. The caller sets `prog` (for messages) and
# `FOLDER` (the data folder inside the archive, e.g. cifar-10-batches-bin) before sourcing.

die() { echo "$prog: error: $*" >&2; exit 1; }
say() { echo "$prog: $*"; }
# The comment block at the top of the calling script, up to `set -euo`, is its usage text.
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

if command -v sha256sum >/dev/null 2>&1; then sha256() { sha256sum "$1" | awk '{print $1}'; }
elif command -v shasum >/dev/null 2>&1; then sha256() { shasum -a 256 "$1" | awk '{print $1}'; }
else sha256() { die "neither sha256sum nor shasum is installed (needed for --checksums)"; }
fi
if command -v md5sum >/dev/null 2>&1; then md5() { md5sum "$1" | awk '{print $1}'; }
elif command -v md5 >/dev/null 2>&1; then md5() { md5 -q "$1"; }
else md5() { die "neither md5sum nor md5 is installed (needed to check the download)"; }
fi
file_size() { wc -c <"$1" | tr -d ' '; }

# Checks that --from ARCHIVE ($1) is a readable file and, when no --checksums was given, picks up
# a SHA256SUMS beside it: sets `checksums`.
check_archive_argument() {
  [[ -e "$1" ]] || die "archive '$1' does not exist"
  [[ -f "$1" && -r "$1" ]] || die "archive '$1' is not a readable file"
  if [[ -z "$checksums" && -f "$(dirname "$1")/SHA256SUMS" ]]; then
    checksums="$(dirname "$1")/SHA256SUMS"
    say "using checksums from $checksums (beside the archive)"
  fi
}

# Reads the sha256sum-style file `$checksums` into `checksum_lines` ("<hash> <path>" per line);
# accepts "hash  path" and "hash *path" (binary mode).
load_checksums() {
  [[ -f "$checksums" && -r "$checksums" ]] || die "checksum file '$checksums' does not exist or is unreadable"
  checksum_lines=$(sed -nE 's/^([0-9a-fA-F]{64}) [ *](.+)$/\1 \2/p' "$checksums")
  [[ -n "$checksum_lines" ]] || die "'$checksums' has no lines of the form '<sha256>  <path>'"
}

# Expected sha256 of a path listed in the checksum file, matched on the exact path.
expected_sha256() { awk -v p="$1" '$2 == p {print tolower($1); exit}' <<<"$checksum_lines"; }
# Listed files of the data folder ("$FOLDER/<name>"), one per line.
listed_data_files() { awk -v pre="$FOLDER/" 'index($2, pre) == 1 {print substr($2, length(pre) + 1)}' <<<"$checksum_lines"; }

# Checks every listed $FOLDER/<file> inside folder $1 (described as $2 in messages); dies on the
# first mismatch.
verify_folder() {
  local folder=$1 where=$2 name want got n=0 names
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

# Checks archive $1 against the checksum line whose file name equals its own, if there is one.
verify_archive() {
  local archive=$1 want got
  want=$(awk -v b="$(basename "$archive")" '{n = $2; sub(/.*\//, "", n)} n == b {print tolower($1); exit}' <<<"$checksum_lines")
  if [[ -n "$want" ]]; then
    got=$(sha256 "$archive")
    [[ "$got" == "$want" ]] || die "SHA-256 mismatch for archive $archive: expected $want, got $got"
    say "SHA-256 of $(basename "$archive") matches $checksums"
  else
    say "note: $checksums has no line for $(basename "$archive"); checking the unpacked files only"
  fi
}

# Unpacks archive $1 into folder $2 and checks that it held $FOLDER/.
unpack_archive() {
  local archive=$1 into=$2 tar_flags
  case "$archive" in
    *.tar.gz|*.tgz) tar_flags=-xzf ;;
    *.tar.xz|*.txz) tar_flags=-xJf ;;
    *.tar) tar_flags=-xf ;;
    *) die "don't know how to unpack '$archive' (expected .tar.gz, .tgz, .tar.xz, .txz or .tar)" ;;
  esac
  say "unpacking $archive"
  tar "$tar_flags" "$archive" -C "$into" || die "could not unpack '$archive' (damaged, or not a tar archive?)"
  [[ -d "$into/$FOLDER" ]] || die "'$archive' has no $FOLDER/ folder; $ARCHIVE_HINT"
}

# A fresh temporary folder inside $1 (the destination, so that the final rename stays on one file
# system), removed on exit: sets `tmp`.
make_temporary_folder() {
  mkdir -p "$1" || die "cannot create '$1'"
  tmp=$(mktemp -d "$1/.$prog.XXXXXX") || die "cannot create a temporary folder in '$1'"
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
}

# Renames the finished folder $1 to $2, moving an incomplete $2 aside into $tmp first.
move_into_place() {
  if [[ -e "$2" ]]; then mv "$2" "$tmp/old" || die "cannot move the incomplete '$2' aside"; fi
  mv "$1" "$2" || die "cannot move the new folder to '$2'"
}
