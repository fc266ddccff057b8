# Sourced by the script tests: skip (exit 77, CTest's SKIP_RETURN_CODE) when the data set a test
# needs is absent, with the reason and the command that gets it. Never a failure: a user who has
# not fetched the data sees the test skipped, not red.
#   source "$(dirname "$0")/../support/require_data.sh"
#   require_cifar10 "$cifar_dir"; require_fer2013 "$fer_dir"
require_cifar10() {
  [[ -f "$1/test_batch.bin" && -f "$1/data_batch_1.bin" ]] && return 0
  echo "CTNN_SKIP: no CIFAR-10 in '$1': get it with scripts/get-cifar10.sh (official download, or --from cifar-10-binary.tar.gz|.tar.xz) and re-run CMake with -DCTNN_CIFAR10_DIR=<repo>/data/cifar-10-batches-bin (scripts/test.sh does both)"
  exit 77
}
require_fer2013() {
  [[ -f "$1/fer2013-train.bin" && -f "$1/fer2013-test.bin" ]] && return 0
  echo "CTNN_SKIP: no FER2013 in '$1': FER2013 is optional; get it with scripts/get-fer2013.sh --from fer2013-binary.tar.xz or fer2013.csv and re-run CMake with -DCTNN_FER2013_DIR=<repo>/data/fer2013-binary"
  exit 77
}
