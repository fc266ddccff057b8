# The bf16 GEMM's portable path (kernels/gemm_bf16.hpp, GemmPlan without AVX512_BF16) and the fp32
# GEMMs as a CPU without AVX-512 runs them: the GEMM, bf16-layer and no-allocation unit tests built
# once more WITHOUT -march=native (x86-64 baseline, SSE2), whatever CTNN_NATIVE says. CTest names:
# "portable: <doctest case>". Included by tests/CMakeLists.txt (every tests/*.cmake is).
add_executable(ctnn_tests_portable
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/main.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gemm.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gemm_bf16.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_bf16_layers.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_no_allocation.cpp)
target_link_libraries(ctnn_tests_portable PRIVATE ctnn::ctnn doctest::doctest)
target_compile_options(ctnn_tests_portable PRIVATE -Wall -Wextra -Wno-psabi -Wno-maybe-uninitialized)
target_include_directories(ctnn_tests_portable PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
doctest_discover_tests(ctnn_tests_portable TEST_PREFIX "portable: ")
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/ctnn_tests_portable_properties.cmake CONTENT
  "set_tests_properties(\${ctnn_tests_portable_TESTS} PROPERTIES PROCESSORS 2 ENVIRONMENT \"OMP_NUM_THREADS=2\")\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/ctnn_tests_portable_properties.cmake)
