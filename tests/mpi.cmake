# Data-parallel training over MPI (tests/mpi/), when CMake found MPI (the ctnn::mpi target):
# each doctest case of ctnn_mpi_tests is one CTest test run under `mpiexec -n 2`, and
# mpi.abort_on_throw checks that a throwing process ends the job with its message.
if(NOT TARGET ctnn::mpi)
  return()
endif()
add_executable(ctnn_mpi_tests ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_mpi.cpp)
target_link_libraries(ctnn_mpi_tests PRIVATE ctnn::mpi ctnn_project_flags doctest::doctest)
add_executable(ctnn_mpi_abort_on_throw ${CMAKE_CURRENT_SOURCE_DIR}/mpi/abort_on_throw.cpp)
target_link_libraries(ctnn_mpi_abort_on_throw PRIVATE ctnn::mpi ctnn_project_flags)

# Open MPI needs --oversubscribe for more processes than cores (2 here) and two variables to
# run as root (CI does); MPICH needs neither and would refuse the option.
set(CTNN_MPIEXEC ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2)
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE ctnn_mpiexec_version ERROR_QUIET)
if(ctnn_mpiexec_version MATCHES "Open MPI|OpenRTE")
  list(APPEND CTNN_MPIEXEC --oversubscribe)
endif()
set(CTNN_MPI_TEST_ENV OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1)

foreach(case shard_slice plan_buckets sharded_loader sync_batchnorm_equals_one_process
             per_process_batchnorm_equals_halves bucketed_overlap_is_bit_identical
             broadcast_makes_processes_identical sharded_evaluation_sums_counts)
  add_test(NAME mpi.${case} COMMAND ${CTNN_MPIEXEC} ${MPIEXEC_PREFLAGS} $<TARGET_FILE:ctnn_mpi_tests>
           ${MPIEXEC_POSTFLAGS} --test-case=mpi.${case})
  set_tests_properties(mpi.${case} PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300
                       ENVIRONMENT "${CTNN_MPI_TEST_ENV}")
endforeach()
add_test(NAME mpi.abort_on_throw
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/mpi/abort_test.sh ${CTNN_MPIEXEC} ${MPIEXEC_PREFLAGS} --
                 $<TARGET_FILE:ctnn_mpi_abort_on_throw>)
set_tests_properties(mpi.abort_on_throw PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 120
                     ENVIRONMENT "${CTNN_MPI_TEST_ENV}")
