# Data-parallel training over MPI (tests/mpi/), when CMake found MPI (the ctnn::mpi target):
# each doctest case of ctnn_mpi_tests is one CTest test run under `mpiexec -n 2`, and
# mpi.abort_on_throw checks that a throwing process ends the job with its message.
if(NOT TARGET ctnn::mpi)
  return()
endif()
add_executable(ctnn_mpi_tests ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_mpi.cpp ${CMAKE_CURRENT_SOURCE_DIR}/mpi/test_trainer_ddp.cpp)
target_link_libraries(ctnn_mpi_tests PRIVATE ctnn::mpi ctnn_project_flags doctest::doctest)
add_executable(ctnn_mpi_abort_on_throw ${CMAKE_CURRENT_SOURCE_DIR}/mpi/abort_on_throw.cpp)
target_link_libraries(ctnn_mpi_abort_on_throw PRIVATE ctnn::mpi ctnn_project_flags)

# CTNN_MPIEXEC and CTNN_MPI_TEST_ENV: the top-level CMakeLists.txt.
foreach(case shard_slice plan_buckets sharded_loader sync_batchnorm_equals_one_process
             per_process_batchnorm_equals_halves bucketed_overlap_is_bit_identical
             broadcast_makes_processes_identical sharded_evaluation_sums_counts
             trainer_equals_one_process trainer_resume_is_bit_identical trainer_non_finite_on_one_process)
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
