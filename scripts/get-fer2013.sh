#!/usr/bin/env bash
# Check and unpack FER2013 so that DIR/fer2013-binary/ holds fer2013-train.bin, fer2013-test.bin,
# fer2013-labels.txt and fer2013-index.csv (the form include/ctnn/data/fer2013.hpp reads).
#
#   scripts/get-fer2013.sh --from ARCHIVE [--checksums FILE] [--dest DIR]
#   scripts/get-fer2013.sh --csv fer2013.csv [--dest DIR]
#
#   --from ARCHIVE    a fer2013-binary.tar.xz (or .tar.gz / .tgz / .txz / .tar) holding the
#                     folder fer2013-binary/. If a SHA256SUMS file sits beside it, it is used as
#                     --checksums unless --checksums is given.
#   --checksums FILE  sha256sum-style list ("<sha256>  <path>" per line). The archive is checked
#                     against the line whose file name equals the archive's, and every listed
#                     "fer2013-binary/<file>" is checked after unpacking. Other lines (other data
#                     sets) are ignored.
#   --csv FILE        Kaggle's fer2013.csv (header "emotion,pixels,Usage"); converted with perl
#                     into the same binary form: the Training rows in fer2013-train.bin, the
#                     PublicTest rows then the PrivateTest rows in fer2013-test.bin, each in CSV
#                     order. Every row is checked; the first bad one is reported with its line.
#   --dest DIR        where to put fer2013-binary/ (default: data/ at the repository root)
#
# There is no anonymous official download: FER2013 is on Kaggle ("Challenges in Representation
# Learning: Facial Expression Recognition Challenge"), which needs a logged-in account. Download
# fer2013.csv there and pass --csv, or pass --from with a copy of fer2013-binary.tar.xz.
#
# Idempotent: if DIR/fer2013-binary already holds the four files, with .bin sizes a non-zero
# multiple of 2305 bytes, it says so and exits 0 without unpacking anything (checksums, if given,
# are still verified). Otherwise it builds the folder in a temporary folder inside DIR and
# renames it into place, so a failed or interrupted run never leaves a half-written
# fer2013-binary. Any failure prints a message and exits non-zero.
set -euo pipefail

readonly FOLDER="fer2013-binary"
readonly FILES=(fer2013-train.bin fer2013-test.bin fer2013-labels.txt fer2013-index.csv)
readonly RECORD_BYTES=2305  # 1 label byte + 48*48 pixels

prog=$(basename "$0")
ARCHIVE_HINT="is it fer2013-binary.tar.xz?"
# shellcheck source=lib/data-archive.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/data-archive.sh"

repo_root=$(cd "$(dirname "$0")/.." && pwd)
from="" csv="" checksums="" dest="$repo_root/data"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --from) [[ $# -ge 2 ]] || die "--from needs an archive path"; from=$2; shift 2 ;;
    --from=*) from=${1#*=}; shift ;;
    --csv) [[ $# -ge 2 ]] || die "--csv needs a file"; csv=$2; shift 2 ;;
    --csv=*) csv=${1#*=}; shift ;;
    --checksums) [[ $# -ge 2 ]] || die "--checksums needs a file"; checksums=$2; shift 2 ;;
    --checksums=*) checksums=${1#*=}; shift ;;
    --dest) [[ $# -ge 2 ]] || die "--dest needs a folder"; dest=$2; shift 2 ;;
    --dest=*) dest=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$prog: error: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$dest" ]] || die "--dest must not be empty"
[[ -z "$from" || -z "$csv" ]] || die "give either --from ARCHIVE or --csv FILE, not both"
if [[ -z "$from" && -z "$csv" ]]; then
  die "no source given, and FER2013 has no anonymous official download: Kaggle requires a logged-in account.
  Download fer2013.csv from the Kaggle page of 'Challenges in Representation Learning: Facial Expression
  Recognition Challenge' (https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge/data)
  and run: $prog --csv fer2013.csv
  or, with a copy of this project's archive: $prog --from fer2013-binary.tar.xz"
fi
[[ -z "$csv" || -z "$checksums" ]] || die "--checksums applies to --from archives only"

# ---- inputs ------------------------------------------------------------------------------
if [[ -n "$from" ]]; then
  check_archive_argument "$from"
fi
if [[ -n "$csv" ]]; then
  [[ -e "$csv" ]] || die "CSV file '$csv' does not exist"
  [[ -f "$csv" && -r "$csv" ]] || die "CSV file '$csv' is not a readable file"
  command -v perl >/dev/null 2>&1 || die "perl is needed to convert the CSV (Debian: apt-get install perl-base)"
fi
if [[ -n "$checksums" ]]; then load_checksums; fi

# 0 if folder $1 holds the four files and the .bin sizes are whole records.
complete_folder() {
  local f size
  for f in "${FILES[@]}"; do [[ -f "$1/$f" ]] || return 1; done
  for f in fer2013-train.bin fer2013-test.bin; do
    size=$(file_size "$1/$f")
    [[ "$size" -gt 0 && $((size % RECORD_BYTES)) -eq 0 ]] || return 1
  done
  return 0
}

target="$dest/$FOLDER"

# ---- already there? ----------------------------------------------------------------------
if complete_folder "$target"; then
  say "$target already holds the FER2013 files with whole-record sizes; nothing to do"
  if [[ -n "$checksums" ]]; then verify_folder "$target" "$target"; fi
  exit 0
fi
if [[ -e "$target" ]]; then
  say "$target exists but is incomplete; it will be replaced once a fresh copy is ready"
fi

make_temporary_folder "$dest"
mkdir "$tmp/unpack"

if [[ -n "$from" ]]; then
  # ---- archive -----------------------------------------------------------------------------
  if [[ -n "$checksums" ]]; then verify_archive "$from"; fi
  unpack_archive "$from" "$tmp/unpack"
  for f in "${FILES[@]}"; do [[ -f "$tmp/unpack/$FOLDER/$f" ]] || die "'$from' lacks $FOLDER/$f"; done
  complete_folder "$tmp/unpack/$FOLDER" ||
    die "a .bin file in '$from' is empty or not a whole number of $RECORD_BYTES-byte records"
  if [[ -n "$checksums" ]]; then verify_folder "$tmp/unpack/$FOLDER" "the unpacked '$from'"; fi
else
  # ---- Kaggle CSV ----------------------------------------------------------------------------
  say "converting $csv (every row is checked; this takes a minute for the full file)"
  mkdir "$tmp/unpack/$FOLDER"
  perl -e '
    use strict; use warnings;
    my ($csv, $out) = @ARGV;
    my @names = qw(angry disgust fear happy sad surprise neutral);
    open(my $in, "<:raw", $csv) or die "cannot open \x27$csv\x27: $!\n";
    my $at = sub { "\x27$csv\x27: line $_[0]" };
    my $header = <$in>;
    defined $header or die "\x27$csv\x27 is empty (expected the header \x27emotion,pixels,Usage\x27)\n";
    $header =~ s/\r?\n\z//;
    $header =~ s/\A\xEF\xBB\xBF//;
    $header eq "emotion,pixels,Usage"
      or die $at->(1) . " is \x27" . substr($header, 0, 80) . "\x27, expected the header \x27emotion,pixels,Usage\x27\n";
    open(my $train, ">:raw", "$out/fer2013-train.bin") or die "cannot write $out/fer2013-train.bin: $!\n";
    my ($pub, $priv) = ("", "");
    my (@itrain, @ipub, @ipriv);
    my ($line, $row, $blank) = (1, 0, 0);
    while (my $l = <$in>) {
      $line++;
      $l =~ s/\r?\n\z//;
      if ($l eq "") { $blank ||= $line; next; }
      die $at->($blank) . " is blank but more rows follow (expected one image per line)\n" if $blank;
      my @f = split /,/, $l, -1;
      @f == 3 or die $at->($line) . " has " . scalar(@f) . " comma-separated fields, expected 3 (emotion,pixels,Usage)\n";
      my ($emotion, $pixels, $usage) = @f;
      $emotion =~ /\A[0-9]{1,3}\z/
        or die $at->($line) . ", field \x27emotion\x27: \x27" . substr($emotion, 0, 20) . "\x27 is not a label (expected an integer 0..6)\n";
      $emotion <= 6 or die $at->($line) . ", field \x27emotion\x27: label $emotion is outside 0..6\n";
      $usage =~ /\A(?:Training|PublicTest|PrivateTest)\z/
        or die $at->($line) . ", field \x27Usage\x27: \x27" . substr($usage, 0, 40) . "\x27, expected Training, PublicTest or PrivateTest\n";
      $pixels =~ s/\A"(.*)"\z/$1/;
      my @p = grep { length } split / /, $pixels;
      for my $i (0 .. $#p) {
        next if $p[$i] =~ /\A[0-9]{1,3}\z/ && $p[$i] <= 255;
        die $at->($line) . ", field \x27pixels\x27, value " . ($i + 1) . ": \x27" . substr($p[$i], 0, 20) .
            "\x27 is not an integer 0..255\n";
      }
      @p == 2304 or die $at->($line) . ", field \x27pixels\x27 holds " . scalar(@p) . " values, expected 2304 (48x48)\n";
      my $record = pack("C*", $emotion, @p);
      if ($usage eq "Training") { print {$train} $record or die "writing $out/fer2013-train.bin failed: $!\n"; push @itrain, [$row, $usage, $emotion]; }
      elsif ($usage eq "PublicTest") { $pub .= $record; push @ipub, [$row, $usage, $emotion]; }
      else { $priv .= $record; push @ipriv, [$row, $usage, $emotion]; }
      $row++;
    }
    close($train) or die "writing $out/fer2013-train.bin failed: $!\n";
    @itrain or die "\x27$csv\x27 has no Training rows\n";
    @ipub + @ipriv or die "\x27$csv\x27 has no PublicTest or PrivateTest rows\n";
    open(my $test, ">:raw", "$out/fer2013-test.bin") or die "cannot write $out/fer2013-test.bin: $!\n";
    print {$test} $pub, $priv or die "writing $out/fer2013-test.bin failed: $!\n";
    close($test) or die "writing $out/fer2013-test.bin failed: $!\n";
    open(my $labels, ">", "$out/fer2013-labels.txt") or die "cannot write $out/fer2013-labels.txt: $!\n";
    print {$labels} map { "$_\n" } @names;
    close($labels) or die "writing $out/fer2013-labels.txt failed: $!\n";
    open(my $index, ">", "$out/fer2013-index.csv") or die "cannot write $out/fer2013-index.csv: $!\n";
    print {$index} "file,record,csv_row,usage,label,label_order_ambiguous\n";
    my $k = 0;
    print {$index} "fer2013-train.bin," . $k++ . ",$_->[0],$_->[1],$_->[2],0\n" for @itrain;
    $k = 0;
    print {$index} "fer2013-test.bin," . $k++ . ",$_->[0],$_->[1],$_->[2],0\n" for @ipub, @ipriv;
    close($index) or die "writing $out/fer2013-index.csv failed: $!\n";
    printf "%d Training, %d PublicTest, %d PrivateTest rows\n", scalar(@itrain), scalar(@ipub), scalar(@ipriv);
  ' "$csv" "$tmp/unpack/$FOLDER" | sed "s/^/$prog: /" || die "could not convert '$csv' (see the message above)"
  complete_folder "$tmp/unpack/$FOLDER" || die "converting '$csv' left an incomplete folder"
fi

# ---- move into place (rename within one file system) --------------------------------------
move_into_place "$tmp/unpack/$FOLDER" "$target"
say "FER2013 is ready in $target"
