#pragma once
// Thread counts. ctnn runs its parallel loops on OpenMP and distinguishes two numbers:
//
//  * the width, thread_width(): the thread count ctnn is configured with (set_num_threads, else
//    OMP_NUM_THREADS or the core count as OpenMP found them when ctnn first asked). It fixes how
//    work that is summed is split: a convolution's weight gradient is summed in thread_width()
//    fixed slices (kernels/conv.hpp), so results depend on the width, not on how many threads
//    run at a moment or which thread runs which slice;
//  * the active count, num_threads(): the OpenMP threads the next parallel loop uses. It equals
//    the width unless a ThreadGovernor (core/thread_governor.hpp) lowers it while other processes
//    hold cores; set_active_threads() is how it does, and that changes speed only, never a result.
#ifdef _OPENMP
#include <omp.h>
#endif
#include <algorithm>

namespace ctnn {

namespace detail {
inline int& configured_width() noexcept {
  static int width = 0;  // 0: not asked yet
  return width;
}
}  // namespace detail

// Threads the next parallel loop uses.
inline int num_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The configured thread count (see above); at least 1.
inline int thread_width() noexcept {
  int& w = detail::configured_width();
  if (w == 0) w = std::max(1, num_threads());
  return w;
}

// Sets the width and the active count to n (n <= 0: no change).
inline void set_num_threads(int n) noexcept {
  if (n <= 0) return;
  detail::configured_width() = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

// Runs n threads (clamped to [1, thread_width()]) from the next parallel loop on; the width stays.
inline void set_active_threads(int n) noexcept {
#ifdef _OPENMP
  omp_set_num_threads(std::clamp(n, 1, thread_width()));
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
