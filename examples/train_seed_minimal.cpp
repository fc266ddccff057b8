// The seed network on CIFAR-10 from your own program, with a checkpoint every epoch (and on
// Ctrl-C) and --resume: ctnn::train::Trainer does the loop (README, "Training from your own program").
//   train_seed_minimal DATA_DIR [--resume] [TRAIN_LIMIT]
#include <cstdlib>
#include <string>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/cifar10.hpp>
#include <ctnn/data/dataloader.hpp>
#include <ctnn/train/trainer.hpp>

using namespace ctnn;
using Seed = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>,  //
                        Conv<16, 32, 5>, BatchNorm, ReLU, MaxPool<2>, Linear<10>>;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const bool resume = argc > 2 && std::string(argv[2]) == "--resume";
  const std::size_t limit = argc > 3 ? std::stoul(argv[3]) : data::kAllRecords;
  const auto train_set = data::load_cifar10(argv[1], data::Split::train, limit);
  const auto test_set = data::load_cifar10(argv[1], data::Split::test, limit);
  const auto tf = data::compose<data::Cifar10Shape>(data::ToTensor{}, data::kCifar10Normalize);
  data::DataLoader train_loader(train_set, tf, {.batch_size = 32, .shuffle = true, .seed = 1});
  data::DataLoader test_loader(test_set, tf, {.batch_size = 500});
  Seed net(1);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  train::TrainerOptions o;
  o.epochs = 5;
  o.checkpoint_dir = "seed-checkpoint";
  if (resume) o.resume_dir = o.checkpoint_dir;
  o.save = "seed.safetensors";
  const auto result = train::Trainer(net, opt, o).fit(train_loader, test_loader);
  return result.interrupted() ? 130 : 0;
}
