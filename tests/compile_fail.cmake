# Compile-fail tests: programs that must NOT compile, with the error they must produce.
#
# Easiest: drop a file tests/compile_fail/<name>.cpp whose FIRST line is
#
#   // expect-error: <regex>
#
# and it becomes the CTest test `compile_fail.<name>` (re-run cmake, or just build: the folder
# is globbed with CONFIGURE_DEPENDS). <regex> is a CMake regular expression (no `;`), matched
# against the compiler's diagnostics, which are produced with LC_ALL=C (plain ASCII quotes).
# Anchor it on your static_assert text or a concept name, e.g.
#
#   // expect-error: Conv2d.*input channels
#
# Or register one by hand (relative SOURCE is relative to the calling CMakeLists.txt folder):
#
#   ctnn_add_compile_fail_test(<name> <source> <regex>)
#   ctnn_add_compile_fail_test(NAME <name> SOURCE <source> REGEX <regex>)
#
# Each test builds an EXCLUDE_FROM_ALL executable (linked to ctnn::ctnn and ctnn_project_flags)
# with `cmake --build <build> --target ctnn_compile_fail_<name>`. It PASSES only if
#   1. that build FAILS, and
#   2. the diagnostics match <regex> (build-system lines such as "[ 50%] Building ... <name>.cpp.o"
#      are left out of the match, and the source's path reads "<source>", so a regex cannot
#      match the file name by accident).
# The captured compiler output is printed in both cases (`ctest -L compile_fail -V` shows it).
# Run only these with `ctest -L compile_fail`.
#
# This file has two modes: included from tests/CMakeLists.txt it registers the tests; run with
# `cmake -DSPEC=<file> -P compile_fail.cmake` it performs one check (that is what the tests do).

if(CMAKE_SCRIPT_MODE_FILE)
  # ---------------------------------------------------------------- script mode: one check
  # SPEC defines NAME, TARGET, SOURCE, REGEX, BUILD_DIR; CONFIG comes on the command line.
  include("${SPEC}")
  execute_process(
    COMMAND "${CMAKE_COMMAND}" -E env LC_ALL=C LANG=C LANGUAGE=
            "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}" --config "${CONFIG}"
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE out)

  # Drop build-system chatter (progress lines, make/ninja status, ninja's echo of the command
  # line) so that the regex is matched against compiler diagnostics only.
  string(REPLACE ";" "\\;" _text "${out}")
  string(REPLACE "\n" ";" _lines "${_text}")
  set(diag "")
  set(_skip_next OFF)
  foreach(_l IN LISTS _lines)
    if(_skip_next)
      set(_skip_next OFF)
      continue()
    endif()
    if(_l MATCHES "^FAILED: ")
      set(_skip_next ON)
      continue()
    endif()
    if(_l MATCHES "^\\[ *[0-9]+%\\]" OR _l MATCHES "^\\[[0-9]+/[0-9]+\\]"
       OR _l MATCHES "^g?make(\\[[0-9]+\\])?: " OR _l MATCHES "^ninja: ")
      continue()
    endif()
    string(APPEND diag "${_l}\n")
  endforeach()
  # ... and not against the source's own path (as in "<path>/<name>.cpp:7:27: error: ...").
  string(REPLACE "${SOURCE}" "<source>" diag "${diag}")

  message("---------------- compile-fail ${NAME}: ${SOURCE}")
  message("---------------- build output (exit code ${rc}):\n${out}")
  if(rc EQUAL 0)
    message("CTNN_COMPILE_FAIL_WRONG: ${NAME} COMPILED, but it must not. "
            "The expected-error pattern is in ${SPEC}.")
    message(FATAL_ERROR "compile-fail test ${NAME}: the build succeeded")
  endif()
  if(NOT diag MATCHES "${REGEX}")
    message("CTNN_COMPILE_FAIL_WRONG: ${NAME} failed to compile, but not with the expected "
            "error. Expected-error pattern (from ${SPEC}):\n  ${REGEX}")
    message(FATAL_ERROR "compile-fail test ${NAME}: the diagnostics do not match")
  endif()
  message("---------------- compile-fail ${NAME}: OK, failed as expected; matched: ${CMAKE_MATCH_0}")
  return()
endif()

# ------------------------------------------------------------------ project mode: register tests
set(CTNN_COMPILE_FAIL_SCRIPT "${CMAKE_CURRENT_LIST_FILE}" CACHE INTERNAL "")

function(ctnn_add_compile_fail_test)
  if(ARGV0 STREQUAL "NAME")
    cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;SOURCE;REGEX" "")
    set(name "${arg_NAME}")
    set(source "${arg_SOURCE}")
    set(regex "${arg_REGEX}")
  else()
    if(NOT ARGC EQUAL 3)
      message(FATAL_ERROR "usage: ctnn_add_compile_fail_test(<name> <source> <regex>)")
    endif()
    set(name "${ARGV0}")
    set(source "${ARGV1}")
    set(regex "${ARGV2}")
  endif()
  if(name STREQUAL "" OR source STREQUAL "" OR regex STREQUAL "")
    message(FATAL_ERROR "ctnn_add_compile_fail_test: NAME, SOURCE and REGEX are all required")
  endif()
  if(regex MATCHES ";")
    message(FATAL_ERROR "ctnn_add_compile_fail_test(${name}): the regex must not contain ';'")
  endif()
  cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE)
  string(MAKE_C_IDENTIFIER "${name}" id)
  set(target "ctnn_compile_fail_${id}")

  add_executable(${target} EXCLUDE_FROM_ALL "${source}")
  target_link_libraries(${target} PRIVATE ctnn::ctnn)
  if(TARGET ctnn_project_flags)
    target_link_libraries(${target} PRIVATE ctnn_project_flags)
  endif()

  # The regex travels in a file, so no shell or list quoting can change it.
  set(spec "${CMAKE_CURRENT_BINARY_DIR}/compile_fail/${id}.cmake")
  file(CONFIGURE OUTPUT "${spec}" CONTENT [==[
set(NAME [=[@name@]=])
set(TARGET [=[@target@]=])
set(SOURCE [=[@source@]=])
set(BUILD_DIR [=[@CMAKE_BINARY_DIR@]=])
set(REGEX [=[@regex@]=])
]==] @ONLY)

  add_test(NAME compile_fail.${name}
    COMMAND "${CMAKE_COMMAND}" "-DSPEC=${spec}" "-DCONFIG=$<CONFIG>" -P "${CTNN_COMPILE_FAIL_SCRIPT}")
  set_tests_properties(compile_fail.${name} PROPERTIES
    # Passing needs the regex in the output (PASS_REGULAR_EXPRESSION) AND no complaint from the
    # script, which prints the marker when the build succeeded or failed for another reason.
    PASS_REGULAR_EXPRESSION "${regex}"
    FAIL_REGULAR_EXPRESSION "CTNN_COMPILE_FAIL_WRONG"
    LABELS "compile_fail"
    TIMEOUT 600
    # These tests drive the shared build tree's build system: one at a time.
    RESOURCE_LOCK ctnn_build_tree)
endfunction()

# Every tests/compile_fail/*.cpp whose first line is `// expect-error: <regex>`.
file(GLOB _ctnn_cf_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/compile_fail/*.cpp")
list(SORT _ctnn_cf_sources)
foreach(_ctnn_cf_src IN LISTS _ctnn_cf_sources)
  file(READ "${_ctnn_cf_src}" _ctnn_cf_head LIMIT 2048)
  string(REGEX MATCH "^// expect-error:[ \t]*([^\r\n]*)" _ctnn_cf_match "${_ctnn_cf_head}")
  string(STRIP "${CMAKE_MATCH_1}" _ctnn_cf_regex)
  cmake_path(GET _ctnn_cf_src STEM LAST_ONLY _ctnn_cf_name)
  if(NOT _ctnn_cf_match OR _ctnn_cf_regex STREQUAL "")
    message(WARNING "${_ctnn_cf_src}: not registered as a compile-fail test; its first line "
                    "must be `// expect-error: <regex>`")
    continue()
  endif()
  ctnn_add_compile_fail_test(${_ctnn_cf_name} "${_ctnn_cf_src}" "${_ctnn_cf_regex}")
endforeach()
