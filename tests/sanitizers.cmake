# Included by tests/CMakeLists.txt (every tests/*.cmake is).
#
# 1. The io tests (test_safetensors.cpp, test_checkpoint.cpp) include ctnn/io/*.hpp, which need
#    nlohmann/json (Debian: nlohmann-json3-dev); the core library does not.
#    They link ctnn::io, which carries it.
if(NOT TARGET ctnn::io)
  message(FATAL_ERROR "ctnn's tests need nlohmann-json for ctnn/io (Debian: apt-get install nlohmann-json3-dev)")
endif()
target_link_libraries(ctnn_tests PRIVATE ctnn::io)

# 2. -DCTNN_SANITIZE=ON adds ctnn_tests_sanitized: unit tests built with AddressSanitizer and
#    UndefinedBehaviorSanitizer (any report fails), registered as the test "sanitized.unit_tests".
#    scripts/test-sanitizers.sh configures a separate build folder with it and runs it.
#    Which tests: the ones over code that reads untrusted bytes or indexes raw buffers (the
#    readers and their corrupt-file cases, safetensors/checkpoints, ONNX, the loaders and
#    transforms, the im2col / GEMM / Winograd kernels). Not every unit test: instrumented
#    template code is slow to compile, and `.ci/run` has 90 minutes on 2 cores. Measured on
#    test_checkpoint.cpp (2-vCPU Zen 2, one job): -O3 49 s; ASan+UBSan -O1 -g 355 s; -O1 -g1
#    117 s (line tables are all a report's stack needs); ASan alone -O1 -g1 64 s. Every
#    tests/unit file, with `-DCTNN_SANITIZE_ALL=ON`, took over 36 minutes to build with -g.
option(CTNN_SANITIZE "Build ctnn_tests_sanitized (unit tests with ASan + UBSan)" OFF)
option(CTNN_SANITIZE_ALL "ctnn_tests_sanitized from every unit test (but test_no_allocation, which replaces malloc, and test_train_cifar10, a full epoch)" OFF)
if(CTNN_SANITIZE)
  if(CTNN_SANITIZE_ALL)
    set(_ctnn_sanitized_sources ${CTNN_UNIT_SOURCES})
    list(FILTER _ctnn_sanitized_sources EXCLUDE REGEX "/test_(no_allocation|train_cifar10)\\.cpp$")
  else()
    set(_ctnn_sanitized_sources)
    foreach(_name main test_cifar10 test_fer2013 test_safetensors test_checkpoint test_onnx test_dataloader
                  test_tensor_dataset test_transforms test_kernels test_gemm test_winograd)
      list(APPEND _ctnn_sanitized_sources ${CMAKE_CURRENT_SOURCE_DIR}/unit/${_name}.cpp)
    endforeach()
  endif()
  add_executable(ctnn_tests_sanitized ${_ctnn_sanitized_sources})
  set(_ctnn_sanitize -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  # -O1 -g1: file:line in every report's stack, at a third of the compile time of -g.
  target_compile_options(ctnn_tests_sanitized PRIVATE ${_ctnn_sanitize} -O1 -g1)
  target_link_options(ctnn_tests_sanitized PRIVATE ${_ctnn_sanitize})
  target_link_libraries(ctnn_tests_sanitized PRIVATE ctnn::ctnn ctnn_project_flags doctest::doctest
                        ctnn::io)
  target_include_directories(ctnn_tests_sanitized PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(ctnn_tests_sanitized PRIVATE CTNN_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden/data")
  # One test running every case in one process (scripts/test-sanitizers.sh runs the binary
  # directly, the same way). detect_leaks=0: LeakSanitizer needs ptrace, which some CI
  # containers forbid, and leaks are not what this build is for; UBSan's no-recover and
  # halt_on_error make any report a failure.
  add_test(NAME sanitized.unit_tests COMMAND ctnn_tests_sanitized)
  set_tests_properties(sanitized.unit_tests PROPERTIES PROCESSORS 2 ENVIRONMENT
    "CTNN_CIFAR10_DIR=${CTNN_CIFAR10_DIR};CTNN_FER2013_DIR=${CTNN_FER2013_DIR};OMP_NUM_THREADS=2;ASAN_OPTIONS=detect_leaks=0:halt_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
