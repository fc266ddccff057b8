#pragma once
// Thread count: follows OMP_NUM_THREADS by default (OpenMP reads it), can be set by the program.
#ifdef _OPENMP
#include <omp.h>
#endif

namespace ctnn {

inline int num_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline void set_num_threads(int n) noexcept {
#ifdef _OPENMP
  if (n > 0) omp_set_num_threads(n);
#else
  (void)n;
#endif
}

inline int thread_id() noexcept {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Size of the current parallel team (1 outside a parallel region).
inline int num_threads_in_team() noexcept {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

}  // namespace ctnn
