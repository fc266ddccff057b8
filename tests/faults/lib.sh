# Sourced by the fault tests (tests/faults/*_e2e.sh):
#   fault_test_in WORK_DIR TRAIN TEST   empties WORK_DIR, enters it and writes data/ there:
#                                       synthetic_cifar10 data TRAIN TEST (below)
#   fail MESSAGE                        prints FAIL: MESSAGE and exits 1
fault_test_in() {
  rm -rf "$1" && mkdir -p "$1" && cd "$1"
  synthetic_cifar10 data "$2" "$3"
}
fail() { echo "FAIL: $*" >&2; exit 1; }

# synthetic_cifar10 DIR TRAIN_RECORDS TEST_RECORDS writes a CIFAR-10
# folder of random records (perl, seeded: the same bytes every time) into DIR: TRAIN_RECORDS in
# data_batch_1.bin, data_batch_2..5.bin empty, TEST_RECORDS in test_batch.bin, and the class
# names. Not the official record counts, so the trainer needs --train-limit and --test-limit.
synthetic_cifar10() {
  local dir=$1 train=$2 test=$3
  mkdir -p "$dir"
  local records='my ($n, $seed) = @ARGV; srand($seed); binmode STDOUT;
    for (1 .. $n) { print chr(int(rand(10))), pack("C*", map { int(rand(256)) } 1 .. 3072) }'
  perl -e "$records" "$train" 1 >"$dir/data_batch_1.bin"
  for i in 2 3 4 5; do : >"$dir/data_batch_$i.bin"; done
  perl -e "$records" "$test" 2 >"$dir/test_batch.bin"
  printf '%s\n' airplane automobile bird cat deer dog frog horse ship truck >"$dir/batches.meta.txt"
}

# synthetic_fer2013 DIR TRAIN_RECORDS PUBLIC_RECORDS PRIVATE_RECORDS writes a fer2013-binary
# folder of random 48x48 faces (perl, seeded) into DIR, with its labels and index files. Not the
# published counts: the trainer needs --train-limit and --test-limit.
synthetic_fer2013() {
  local dir=$1 train=$2 pub=$3 priv=$4
  mkdir -p "$dir"
  local records='my ($n, $seed) = @ARGV; srand($seed); binmode STDOUT;
    for (1 .. $n) { print chr(int(rand(7))), pack("C*", map { int(rand(256)) } 1 .. 2304) }'
  perl -e "$records" "$train" 3 >"$dir/fer2013-train.bin"
  perl -e "$records" $((pub + priv)) 4 >"$dir/fer2013-test.bin"
  printf '%s\n' angry disgust fear happy sad surprise neutral >"$dir/fer2013-labels.txt"
  {
    echo "file,record,csv_row,usage,label,label_order_ambiguous"
    for ((i = 0; i < train; ++i)); do echo "fer2013-train.bin,$i,$i,Training,0,0"; done
    for ((i = 0; i < pub + priv; ++i)); do
      echo "fer2013-test.bin,$i,$((train + i)),$([[ $i -lt $pub ]] && echo PublicTest || echo PrivateTest),0,0"
    done
  } >"$dir/fer2013-index.csv"
}
