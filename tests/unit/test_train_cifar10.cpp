// End to end on real data: the seed network learns CIFAR-10 in one epoch on 10,000 images.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/data/transforms.hpp>
#include <ctnn/train/loop.hpp>
#include <ctnn/train/metrics.hpp>
#include "support/data.hpp"

namespace data = ctnn::data;
using namespace ctnn;

namespace {
// The unpacked CIFAR-10 folder, or "" after a skip line (support/data.hpp).
std::filesystem::path cifar_dir() { return ctnn::test::cifar10_dir_or_skip().value_or(std::filesystem::path{}); }
}  // namespace

TEST_CASE("train seed network: one epoch on 10,000 CIFAR-10 images beats 40 % on 2,000 test images") {
  using Net = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                         ReLU, MaxPool<2>, Linear<10>>;
  const auto dir = cifar_dir();
  if (dir.empty()) return;
  const auto train_set = data::load_cifar10(dir, data::Split::train, 10000);
  const auto test_set = data::load_cifar10(dir, data::Split::test, 2000);
  const auto tf = data::compose<data::Cifar10Shape>(data::ToTensor{}, data::kCifar10Normalize);
  data::DataLoader train_loader(train_set, tf, {.batch_size = 32, .shuffle = true, .seed = 1});
  data::DataLoader test_loader(test_set, tf, {.batch_size = 500});
  Net net(1);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  const auto before = train::evaluate(net, test_loader);
  const auto tr = train::train_epoch(net, opt, train_loader, 0);
  const auto te = train::evaluate(net, test_loader);
  MESSAGE("before: test acc " << before.accuracy << "; after one epoch: train loss " << tr.loss << ", train acc "
                              << tr.accuracy << ", test loss " << te.loss << ", test acc " << te.accuracy << " ("
                              << tr.images_per_second() << " img/s)");
  CHECK(tr.samples == 10000);
  CHECK(te.samples == 2000);
  CHECK(before.accuracy < 0.2);
  CHECK(te.accuracy > 0.40);
  CHECK(te.loss < before.loss);
}

TEST_CASE("train metrics: the CSV is rewritten whole after every epoch, never left half-written") {
  const auto dir = std::filesystem::temp_directory_path() / "ctnn_metrics_test";
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "metrics.csv";
  train::MetricsFile file(path);
  auto read = [&] {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  CHECK(read() == std::string(train::MetricsFile::header) + "\n");
  file.append({1, 1.5, 0.4, 1.25, 0.5, 10.0, 3000});
  file.append({2, 1.0, 0.6, 1.0, 0.625, 9.5, 3100});
  const auto text = read();
  CHECK(text.find("1,1.5,0.4,1.25,0.5,10,3000\n") != std::string::npos);
  CHECK(text.find("2,1,0.6,1,0.625,9.5,3100\n") != std::string::npos);
  CHECK(!std::filesystem::exists(path.string() + ".tmp"));
  std::filesystem::remove_all(dir);
  // An unwritable location is reported when the file is opened, not after the first epoch.
  CHECK_THROWS_WITH(train::MetricsFile("/proc/ctnn/metrics.csv"), doctest::Contains("ctnn"));
}
