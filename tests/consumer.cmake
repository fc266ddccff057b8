# Consumer tests: is ctnn usable from *another* CMake project?
#
#   ctnn.consumer.install            cmake --install <build> --prefix <build>/consumer/prefix
#   ctnn.consumer.configure          configure tests/consumer against that prefix
#                                    (find_package(ctnn CONFIG REQUIRED), CMAKE_PREFIX_PATH)
#   ctnn.consumer.build              build it (-j2)
#   ctnn.consumer.run                run it (it checks a Tensor<Shape<3,4,5>> of batch 2), and
#                                    the ctnn::io program (a safetensors round trip)
#   ctnn.consumer_subdir.configure   configure tests/consumer/subdir, which does
#                                    add_subdirectory(<ctnn source tree>)
#   ctnn.consumer_subdir.build / .run
#
# The steps are chained with fixtures, so `ctest -R consumer` or `ctest -j2` runs them in order;
# when a step fails the later ones are reported as not run. Run just these with `ctest -L consumer`.
#
# This file has two modes: included from tests/CMakeLists.txt it registers the tests; run with
# `cmake -DCTNN_CONSUMER_STEP=... -P consumer.cmake` it performs one step (that is what the tests do).

if(CMAKE_SCRIPT_MODE_FILE)
  # ---------------------------------------------------------------- script mode: one step
  function(_ctnn_run)
    string(REPLACE ";" " " _pretty "${ARGN}")
    message(STATUS "ctnn consumer: ${_pretty}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "ctnn consumer step '${CTNN_CONSUMER_STEP}' failed (${_rc}): ${_pretty}")
    endif()
  endfunction()

  if(CTNN_CONSUMER_STEP STREQUAL "install")
    file(REMOVE_RECURSE "${PREFIX}")
    _ctnn_run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" --config "${CONFIG}")
    file(GLOB_RECURSE _cfg "${PREFIX}/*/ctnnConfig.cmake")
    if(NOT _cfg)
      message(FATAL_ERROR "cmake --install put no ctnnConfig.cmake under ${PREFIX}")
    endif()
    file(GLOB_RECURSE _leak "${PREFIX}/*ctnn_project_flags*")
    file(GLOB_RECURSE _targets "${PREFIX}/*/ctnnTargets.cmake")
    foreach(_f ${_targets})
      file(STRINGS "${_f}" _hits REGEX "ctnn_project_flags|march")
      list(APPEND _leak ${_hits})
    endforeach()
    if(_leak)
      message(FATAL_ERROR "the installed package exposes project-only flags: ${_leak}")
    endif()
    message(STATUS "ctnn consumer: installed ${_cfg}")
  elseif(CTNN_CONSUMER_STEP STREQUAL "configure")
    file(REMOVE_RECURSE "${BIN}")
    set(_args -S "${SRC}" -B "${BIN}" -G "${GENERATOR}")
    if(MAKE_PROGRAM)
      list(APPEND _args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
    endif()
    if(CONFIG)
      list(APPEND _args "-DCMAKE_BUILD_TYPE=${CONFIG}")
    endif()
    list(APPEND _args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
    if(PREFIX)  # find_package(ctnn) must find this installed copy, and nothing else
      list(APPEND _args "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DCTNN_CONSUMER_EXPECT_PREFIX=${PREFIX}"
                        -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
    endif()
    if(CTNN_SRC)
      list(APPEND _args "-DCTNN_SOURCE_DIR=${CTNN_SRC}")
    endif()
    _ctnn_run("${CMAKE_COMMAND}" ${_args})
  elseif(CTNN_CONSUMER_STEP STREQUAL "build")
    _ctnn_run("${CMAKE_COMMAND}" --build "${BIN}" --config "${CONFIG}" -j 2)
  elseif(CTNN_CONSUMER_STEP STREQUAL "run")
    # EXE: one program, or several separated by commas, each run in turn.
    string(REPLACE "," ";" _exes "${EXE}")
    foreach(_name IN LISTS _exes)
      set(_exe "")
      foreach(_c "${BIN}/${_name}" "${BIN}/${CONFIG}/${_name}")
        if(EXISTS "${_c}" AND NOT IS_DIRECTORY "${_c}")
          set(_exe "${_c}")
          break()
        endif()
      endforeach()
      if(NOT _exe)
        message(FATAL_ERROR "ctnn consumer: no program ${_name} in ${BIN}")
      endif()
      _ctnn_run("${_exe}")
    endforeach()
  else()
    message(FATAL_ERROR "consumer.cmake: unknown CTNN_CONSUMER_STEP '${CTNN_CONSUMER_STEP}'")
  endif()
  return()
endif()

# ------------------------------------------------------------------ project mode: register tests
set(_ctnn_consumer_script "${CMAKE_CURRENT_LIST_FILE}")
set(_ctnn_consumer_root "${CMAKE_BINARY_DIR}/consumer")
set(_ctnn_consumer_prefix "${_ctnn_consumer_root}/prefix")
set(_ctnn_consumer_common
  "-DGENERATOR=${CMAKE_GENERATOR}"
  "-DMAKE_PROGRAM=${CMAKE_MAKE_PROGRAM}"
  "-DCXX_COMPILER=${CMAKE_CXX_COMPILER}"
  "-DCONFIG=$<CONFIG>")

# Registers <prefix>.configure, <prefix>.build and <prefix>.run for one consumer project.
# <io_exe> is the project's second program, which links ctnn::io alone.
function(_ctnn_add_consumer_chain prefix src exe io_exe setup_fixture)
  set(bin "${_ctnn_consumer_root}/${exe}")
  set(fx_conf "${prefix}.configured")
  set(fx_built "${prefix}.built")
  add_test(NAME ${prefix}.configure
    COMMAND "${CMAKE_COMMAND}" -DCTNN_CONSUMER_STEP=configure ${_ctnn_consumer_common}
            "-DSRC=${src}" "-DBIN=${bin}" ${ARGN} -P "${_ctnn_consumer_script}")
  add_test(NAME ${prefix}.build
    COMMAND "${CMAKE_COMMAND}" -DCTNN_CONSUMER_STEP=build ${_ctnn_consumer_common}
            "-DBIN=${bin}" -P "${_ctnn_consumer_script}")
  add_test(NAME ${prefix}.run
    COMMAND "${CMAKE_COMMAND}" -DCTNN_CONSUMER_STEP=run ${_ctnn_consumer_common}
            "-DBIN=${bin}" "-DEXE=${exe}${CMAKE_EXECUTABLE_SUFFIX},${io_exe}${CMAKE_EXECUTABLE_SUFFIX}"
            -P "${_ctnn_consumer_script}")
  set(required ${setup_fixture})
  set_tests_properties(${prefix}.configure PROPERTIES FIXTURES_SETUP "${fx_conf}")
  if(required)
    set_tests_properties(${prefix}.configure PROPERTIES FIXTURES_REQUIRED "${required}")
  endif()
  list(APPEND required "${fx_conf}")
  set_tests_properties(${prefix}.build PROPERTIES
    FIXTURES_REQUIRED "${required}" FIXTURES_SETUP "${fx_built}")
  list(APPEND required "${fx_built}")
  set_tests_properties(${prefix}.run PROPERTIES FIXTURES_REQUIRED "${required}")
  set_tests_properties(${prefix}.configure ${prefix}.build ${prefix}.run PROPERTIES
    LABELS "consumer" TIMEOUT 600 PROCESSORS 1)
endfunction()

# (1) find_package(ctnn CONFIG) against an installed copy.
if(CTNN_INSTALL)
  add_test(NAME ctnn.consumer.install
    COMMAND "${CMAKE_COMMAND}" -DCTNN_CONSUMER_STEP=install ${_ctnn_consumer_common}
            "-DBUILD_DIR=${CMAKE_BINARY_DIR}" "-DPREFIX=${_ctnn_consumer_prefix}"
            -P "${_ctnn_consumer_script}")
  # Shares the build tree with the compile-fail tests, which drive its build system.
  set_tests_properties(ctnn.consumer.install PROPERTIES
    FIXTURES_SETUP ctnn.consumer.installed LABELS "consumer" TIMEOUT 120
    RESOURCE_LOCK ctnn_build_tree)
  _ctnn_add_consumer_chain(ctnn.consumer "${CMAKE_CURRENT_LIST_DIR}/consumer" ctnn_consumer
    ctnn_io_consumer ctnn.consumer.installed "-DPREFIX=${_ctnn_consumer_prefix}")
endif()

# (2) add_subdirectory(<ctnn source tree>).
_ctnn_add_consumer_chain(ctnn.consumer_subdir "${CMAKE_CURRENT_LIST_DIR}/consumer/subdir"
  ctnn_consumer_subdir ctnn_io_consumer_subdir "" "-DCTNN_SRC=${PROJECT_SOURCE_DIR}")
