// bench_image_folder: how long ctnn::io::load_image_folder takes on a folder, wall and CPU time,
// for 1 and 2 (or --threads) decoding threads. The figures of docs/library.md#your-own-data.
//
//   bench_image_folder DIR 32          # e.g. CIFAR-10's train split as PNGs (scripts/cifar10_to_folder.py)
//   bench_image_folder DIR 128 crop    # 256x256 JPEGs brought to 128x128
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ctnn/io/image_folder.hpp>

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

template <std::size_t S>
void measure(const char* dir, ctnn::io::Fit fit, int threads) {
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  const auto f = ctnn::io::load_image_folder<ctnn::Shape<3, S, S>>(dir, {.fit = fit, .threads = threads});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  std::printf("%d threads: %zu images -> 3x%zux%zu in %.2f s wall, %.2f s CPU (%.2f cores busy), %.0f images/s; %zu resized\n",
              threads, f.set.size(), S, S, wall, cpu, cpu / wall, static_cast<double>(f.set.size()) / wall, f.report.resized);
}

template <std::size_t S>
int run(const char* dir, ctnn::io::Fit fit, int max_threads) {
  measure<S>(dir, fit, 1);  // also warms the page cache for the next runs
  for (int t = 1; t <= max_threads; ++t) measure<S>(dir, fit, t);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DIR 32|64|128 [crop|stretch] [max threads, default 2]\n", argv[0]);
    return 2;
  }
  const int size = std::atoi(argv[2]);
  const auto fit = argc > 3 && std::string(argv[3]) == "stretch" ? ctnn::io::Fit::resize : ctnn::io::Fit::resize_crop;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  try {
    if (size == 32) return run<32>(argv[1], fit, threads);
    if (size == 64) return run<64>(argv[1], fit, threads);
    if (size == 128) return run<128>(argv[1], fit, threads);
    std::fprintf(stderr, "size must be 32, 64 or 128\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
