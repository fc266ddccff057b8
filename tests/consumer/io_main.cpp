// A program that uses ctnn's serialization headers from outside the project, linking only
// ctnn::io (see tests/consumer.cmake): nlohmann_json must come with that target. It saves a
// small network as safetensors, loads it into a second one and checks the weights round-trip.
#include <ctnn/ctnn.hpp>
#include <ctnn/io/safetensors.hpp>

#include <cstdio>
#include <filesystem>

int main() {
  using Net = ctnn::Sequential<ctnn::Input<1, 8, 8>, ctnn::Conv<1, 4, 3>, ctnn::BatchNorm, ctnn::ReLU,
                               ctnn::Linear<3>>;
  Net a(1), b(2);
  const auto path = std::filesystem::temp_directory_path() / "ctnn_io_consumer.safetensors";
  ctnn::io::save(a, path);
  ctnn::io::load(b, path);
  std::filesystem::remove(path);
  const auto pa = a.parameters(), pb = b.parameters();
  std::size_t n = 0;
  for (std::size_t i = 0; i < pa.size(); ++i)
    for (std::size_t j = 0; j < pa[i].size; ++j, ++n)
      if (pa[i].value[j] != pb[i].value[j]) {
        std::fprintf(stderr, "ctnn io consumer: FAILED: tensor %zu element %zu differs\n", i, j);
        return 1;
      }
  std::printf("ctnn io consumer: OK (%zu parameters round-trip through safetensors)\n", n);
  return 0;
}
