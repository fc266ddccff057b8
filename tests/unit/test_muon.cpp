// Muon (optim/muon.hpp) and its Newton-Schulz kernel (kernels/newton_schulz.hpp): against the
// PyTorch reference of tests/golden/make_golden_optim.py (optim_muon.ctv, optim_muon_airbench.ctv,
// whose CONFIG comments these settings repeat), the singular values the quintic iteration
// produces, the split of a network's tensors, checkpoint resume, thread-count independence, and
// learning a small problem.
//
// Tolerance of the goldens: the reference is float64, ctnn fp32. After 4 steps the weights are
// within 1e-5 of the tensor's largest value (seen: 2.2e-7), each step within 1e-4 of the step's
// largest value (seen: 1.6e-5, about the fp32 rounding of the weights themselves: half an ulp
// of 3 is 1.2e-7, 1e-5 of a step of 0.02). CTNN_GOLDEN_REPORT=1 ctnn_tests -tc='Muon*' lists them.
#include <doctest/doctest.h>

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/checkpoint.hpp>
#include <ctnn/optim/muon.hpp>

#include "support/golden.hpp"
#include "support/separable.hpp"

using namespace ctnn;

namespace {

constexpr double kGoldenTolerance = 1e-5;  // of the weights' largest value
constexpr double kStepTolerance = 1e-4;    // of the step's largest value

// The golden file's tensors for one tag, as parameters of the given kinds, in the given order.
struct GoldenTensors {
  const test::GoldenFile& file;
  std::string tag;
  std::vector<std::string> names;
  std::vector<std::vector<float>> value, grad;
  std::vector<std::vector<std::size_t>> dims;

  GoldenTensors(const test::GoldenFile& f, std::string t, std::vector<std::string> n)
      : file(f), tag(std::move(t)), names(std::move(n)) {
    for (const auto& name : names) {
      const auto& init = file[tag + ".init." + name];
      value.emplace_back(init.f32);
      grad.emplace_back(init.f32.size(), 0.f);
      dims.emplace_back(init.shape.begin(), init.shape.end());
    }
  }
  ParamRef<float> ref(std::size_t i, ParamKind kind = ParamKind::weight) {
    return {names[i], kind, value[i].data(), grad[i].data(), value[i].size(), dims[i]};
  }
  Parameters<float> all() {
    Parameters<float> out;
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back(ref(i));
    return out;
  }
};

// After each step both the weights and the step itself (after - before, whose scale is lr, not
// the weights') are compared with torch's.
// grad_scale: the stored gradients are multiplied by it (1 / batch: the mean loss's gradients
// of the reference's summed loss).
template <class Optimizer>
void run_against_torch(GoldenTensors& t, Optimizer& opt, int steps = 4, float grad_scale = 1) {
  for (int s = 1; s <= steps; ++s) {
    const std::string S = std::to_string(s);
    const auto previous = t.value;
    for (std::size_t i = 0; i < t.names.size(); ++i) {
      const auto& g = t.file[t.tag + ".grad." + S + "." + t.names[i]];
      std::transform(g.f32.begin(), g.f32.end(), t.grad[i].begin(), [&](float v) { return v * grad_scale; });
    }
    opt.step();
    for (std::size_t i = 0; i < t.names.size(); ++i) {
      const auto& want = t.file[t.tag + ".after." + S + "." + t.names[i]];
      const auto c = test::compare(t.value[i], want);
      test::record("muon", t.tag + ".after." + S + "." + t.names[i], c.rel);
      INFO(t.tag << " after step " << s << ", tensor " << t.names[i] << " " << want.shape_string()
                 << ": rel error " << c.rel);
      CHECK(c.rel < kGoldenTolerance);
      // The step, which torch's golden holds from float64.
      const auto& want_step = t.file[t.tag + ".step." + S + "." + t.names[i]];
      std::vector<float> step(t.value[i].size());
      for (std::size_t j = 0; j < step.size(); ++j) step[j] = t.value[i][j] - previous[i][j];
      const auto d = test::compare(step, want_step);
      test::record("muon", t.tag + ".step." + S + "." + t.names[i], d.rel);
      INFO("the step's rel error " << d.rel);
      CHECK(d.rel < kStepTolerance);
    }
  }
}

const test::GoldenFile& muon_golden() {
  static const test::GoldenFile f = test::GoldenFile::load("optim_muon");
  return f;
}

const std::vector<std::string> kShapes = {"wide", "tall", "conv", "conv_tall"};

// Singular values of newton_schulz(G) for G [rows, cols] with entries N(0, 1).
std::vector<double> ns_singular_values(std::size_t rows, std::size_t cols, kernels::NewtonSchulzCoefficients k,
                                       int steps = 5, std::uint64_t seed = 11) {
  std::vector<float> g(rows * cols), out(rows * cols);
  Rng rng(seed);
  for (auto& v : g) v = static_cast<float>(rng.normal());
  kernels::NewtonSchulzWorkspace<float> ws;
  ws.reserve(rows, cols);
  kernels::newton_schulz(g.data(), rows, cols, out.data(), steps, k, 1e-7, ws);
  const auto r = static_cast<Eigen::Index>(rows), c = static_cast<Eigen::Index>(cols);
  const Eigen::MatrixXd m = kernels::ConstMatMap<float>(out.data(), r, c).cast<double>();
  const Eigen::VectorXd s = Eigen::JacobiSVD<Eigen::MatrixXd>(m).singularValues();
  return {s.data(), s.data() + s.size()};
}

// The band the published quintic p(s) = 3.4445 s - 4.7750 s^3 + 2.0315 s^5 keeps singular values
// in once they have grown: p maps [0.6818, 1.2024] into itself, with max p = 1.2024 on [0, 1]
// (at s = 0.5545) and min p = p(1.0501) = 0.6818 on the band (not p(1) = 0.7010: p dips below
// it just above 1). Plus a margin of fp32 rounding.
bool in_quintic_band(const std::vector<double>& s) {
  return *std::min_element(s.begin(), s.end()) >= 0.6815 && *std::max_element(s.begin(), s.end()) <= 1.2027;
}

}  // namespace

TEST_CASE("newton_schulz: 5 quintic steps put every singular value of a random matrix in [0.68, 1.20]") {
  // Wide, tall and square-ish: a Gaussian matrix's smallest singular value after the Frobenius
  // normalisation is large enough here for 5 steps to lift it into the band.
  for (auto [r, c] : {std::pair<std::size_t, std::size_t>{64, 256}, {256, 64}, {24, 216}, {96, 80}}) {
    const auto s = ns_singular_values(r, c, {});
    INFO(r << " x " << c << ": singular values in [" << *std::min_element(s.begin(), s.end()) << ", "
           << *std::max_element(s.begin(), s.end()) << "]");
    CHECK(s.size() == std::min(r, c));
    CHECK(in_quintic_band(s));
  }
  // The band is a property of the coefficients: a wrong one moves the singular values out of it.
  for (auto k : {kernels::NewtonSchulzCoefficients{3.4445, -4.7750, 2.3150}, {3.4445, -4.4750, 2.0315},
                 {3.0445, -4.7750, 2.0315}, {1.5, -0.5, 0.0}, {4.4445, -4.7750, 2.0315}}) {
    const auto s = ns_singular_values(64, 256, k);
    INFO("coefficients " << k.a << ", " << k.b << ", " << k.c << ": singular values in ["
                         << *std::min_element(s.begin(), s.end()) << ", " << *std::max_element(s.begin(), s.end())
                         << "]");
    CHECK_FALSE(in_quintic_band(s));
  }
}

TEST_CASE("newton_schulz: the fp32 iteration is the float64 one, a tall matrix is its transpose's transpose") {
  const std::size_t r = 40, c = 120;
  std::vector<float> g(r * c), wide(r * c), tall(r * c), gt(r * c);
  Rng rng(5);
  for (auto& v : g) v = static_cast<float>(rng.normal());
  for (std::size_t i = 0; i < r; ++i)
    for (std::size_t j = 0; j < c; ++j) gt[j * r + i] = g[i * c + j];
  kernels::NewtonSchulzWorkspace<float> ws;
  ws.reserve(r, c);
  kernels::newton_schulz(g.data(), r, c, wide.data(), 5, {}, 1e-7, ws);
  kernels::newton_schulz(gt.data(), c, r, tall.data(), 5, {}, 1e-7, ws);  // same workspace: [c, r] fits
  // The float64 iteration written out with Eigen's dense products.
  Eigen::MatrixXd X = kernels::ConstMatMap<float>(g.data(), r, c).cast<double>();
  X /= X.norm() + 1e-7;
  for (int s = 0; s < 5; ++s) {
    const Eigen::MatrixXd A = X * X.transpose();
    const Eigen::MatrixXd B = -4.7750 * A + 2.0315 * A * A;
    X = (3.4445 * X + B * X).eval();
  }
  double worst_wide = 0, worst_tall = 0;
  for (std::size_t i = 0; i < r; ++i)
    for (std::size_t j = 0; j < c; ++j) {
      worst_wide = std::max(worst_wide, std::fabs(wide[i * c + j] - X(i, j)));
      worst_tall = std::max(worst_tall, std::fabs(tall[j * r + i] - X(i, j)));
    }
  INFO("max |fp32 - float64|: wide " << worst_wide << ", tall " << worst_tall << " (entries up to "
                                     << X.cwiseAbs().maxCoeff() << ")");
  CHECK(worst_wide < 1e-5);
  CHECK(worst_tall < 1e-5);
  // In place (out == G) is the same.
  kernels::newton_schulz(g.data(), r, c, g.data(), 5, {}, 1e-7, ws);
  CHECK(std::memcmp(g.data(), wide.data(), sizeof(float) * g.size()) == 0);
  // A workspace too small is refused.
  kernels::NewtonSchulzWorkspace<float> small;
  small.reserve(8, 8);
  CHECK_THROWS_WITH_AS(kernels::newton_schulz(g.data(), r, c, wide.data(), 5, {}, 1e-7, small),
                       doctest::Contains("not reserved for a [40, 120] matrix"), std::invalid_argument);
}

TEST_CASE("Muon: the Muon repository's defaults (Nesterov) match the PyTorch reference for 4 steps") {
  GoldenTensors t(muon_golden(), "nesterov", kShapes);
  Muon<float> opt{t.all()};  // lr 0.02, momentum 0.95 (ema), Nesterov, 5 steps, shape scale
  CHECK(opt.options().ns_steps == 5);
  run_against_torch(t, opt);
}

TEST_CASE("Muon: without Nesterov, with decoupled weight decay, matches the PyTorch reference") {
  GoldenTensors t(muon_golden(), "plain_wd", kShapes);
  Muon<float> opt{t.all(), MuonOptions{.lr = 0.05, .momentum = 0.9, .nesterov = false, .weight_decay = 0.1}};
  run_against_torch(t, opt);
}

TEST_CASE("Muon: SGD-style momentum, no scale, matches the PyTorch reference") {
  GoldenTensors t(muon_golden(), "sgd_style", kShapes);
  Muon<float> opt{t.all(), MuonOptions{.lr = 0.03,
                                       .momentum = 0.8,
                                       .nesterov = true,
                                       .weight_decay = 0.01,
                                       .momentum_style = MuonMomentum::sgd,
                                       .scale = MuonScale::none}};
  run_against_torch(t, opt);
}

TEST_CASE("Muon: airbench94_muon's Muon + SGD pair, as one optimizer built by muon_groups, matches torch") {
  static const test::GoldenFile f = test::GoldenFile::load("optim_muon_airbench");
  // The reference's gradients are of airbench94_muon's summed loss: its own numbers
  // (summed_loss), or ctnn's mean loss, whose gradients are 1 / 2000 of those, with the groups
  // converted.
  for (const bool summed : {true, false}) {
    CAPTURE(summed);
    GoldenTensors t(f, "airbench", {"conv1", "conv2", "norm_bias", "head"});
    const Parameters<float> params{t.ref(0), t.ref(1), t.ref(2, ParamKind::norm_bias), t.ref(3)};
    auto groups = muon_groups(params, airbench94_muon_groups(2000, summed));
    REQUIRE(groups.size() == 3);
    CHECK(groups[0].name == "muon");
    CHECK(groups[0].params.size() == 2);
    CHECK(groups[1].params.front().name == "norm_bias");
    CHECK(groups[2].params.front().name == "head");
    Muon<float> opt{groups, airbench94_muon_options()};
    CHECK(opt.is_muon_group(0));
    CHECK_FALSE(opt.is_muon_group(1));
    const double to_mean = summed ? 1 : 2000;
    CHECK(opt.param_groups()[0].lr == 0.24);
    CHECK(opt.param_groups()[1].lr == doctest::Approx(0.053 * to_mean));
    CHECK(opt.param_groups()[1].weight_decay == doctest::Approx(4e-3 / 0.053 / to_mean));
    CHECK(opt.param_groups()[2].lr == doctest::Approx(0.67 * to_mean));
    CHECK(opt.param_groups()[2].weight_decay == doctest::Approx(4e-3 / 0.67 / to_mean));
    run_against_torch(t, opt, 4, summed ? 1.0f : 1.0f / 2000);
  }
}

namespace {
using Net = Sequential<Input<3, 8, 8>, Conv<3, 4, 3>, BatchNorm, ReLU, Conv<4, 6, 3>, BatchNorm, ReLU, MaxPool<2>,
                       Linear<8>, ReLU, Linear<3>>;

void random_grads(Net& net, std::uint64_t seed) {
  Rng rng(seed);
  for (std::size_t i = 0; i < Net::param_count; ++i) net.gradient_data()[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
}

std::vector<std::string> names(const MuonParamGroup<float>& g) {
  std::vector<std::string> out;
  for (const auto& p : g.params) out.push_back(p.name);
  return out;
}

Muon<float> make_muon(Net& net) {
  return Muon<float>{muon_groups(net.parameters(), {.lr = 0.05, .weight_decay = 0.01, .aux_lr = 0.1, .head_lr = 0.2}),
                     MuonOptions{.aux = {.momentum = 0.9, .weight_decay = 1e-3, .nesterov = true}}};
}
}  // namespace

TEST_CASE("muon_groups: filters and hidden matrices on Muon; first layer, head, biases and norms on SGD") {
  Net net(3);
  auto groups = muon_groups(net.parameters(), {.lr = 0.05, .aux_lr = 0.1});
  REQUIRE(groups.size() == 2);
  CHECK(names(groups[0]) == std::vector<std::string>{"3.weight", "7.weight"});
  CHECK(groups[0].use_muon);
  CHECK(names(groups[1]) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "3.bias", "4.weight",
                                                     "4.bias", "7.bias", "9.weight", "9.bias"});
  CHECK_FALSE(groups[1].use_muon);
  auto all = muon_groups(net.parameters(), {.first_layer_on_muon = true, .head_on_muon = true});
  CHECK(names(all[0]) == std::vector<std::string>{"0.weight", "3.weight", "7.weight", "9.weight"});
  auto head = muon_groups(net.parameters(), {.head_lr = 0.3, .head_weight_decay = 0.5});
  REQUIRE(head.size() == 3);
  CHECK(names(head[2]) == std::vector<std::string>{"9.weight"});
  CHECK(head[2].lr == 0.3);
  CHECK(head[2].weight_decay == 0.5);
  CHECK_THROWS_AS(muon_groups(net.parameters(), {.lr = -1}), std::invalid_argument);
}

TEST_CASE("Muon: a tensor that is not a matrix in a Muon group is refused, naming it") {
  Net net(3);
  CHECK_THROWS_WITH_AS(Muon<float>(net.parameters()), doctest::Contains("tensor \"0.bias\" has 1 dimension(s)"),
                       std::invalid_argument);
  auto groups = muon_groups(net.parameters(), {});
  CHECK_THROWS_WITH_AS(Muon<float>(groups, MuonOptions{.momentum = 1.0}), doctest::Contains("momentum must be < 1"),
                       std::invalid_argument);
  CHECK_THROWS_AS(Muon<float>(groups, MuonOptions{.momentum = 0.0}), std::invalid_argument);  // Nesterov without momentum
  CHECK_THROWS_AS(Muon<float>(groups, MuonOptions{.aux = {.nesterov = true}}), std::invalid_argument);
  CHECK_THROWS_AS(Muon<float>(groups, MuonOptions{.ns_steps = -1}), std::invalid_argument);
}

TEST_CASE("Muon: the steps do not depend on the thread count, and a group at lr 0 stays put") {
  struct Restore {
    int before = thread_width();
    ~Restore() { set_num_threads(before); }
  } restore;
  Net one(9), two(9);
  for (auto [net, threads] : {std::pair{&one, 1}, std::pair{&two, 2}}) {
    set_num_threads(threads);
    auto opt = make_muon(*net);
    for (int s = 0; s < 3; ++s) {
      random_grads(*net, 40 + static_cast<std::uint64_t>(s));
      opt.step();
    }
  }
  CHECK(std::memcmp(one.parameter_data(), two.parameter_data(), sizeof(float) * Net::param_count) == 0);

  Net frozen(9);
  auto opt = make_muon(frozen);
  opt.param_groups()[0].lr = 0;
  const auto muon_tensor = opt.param_groups()[0].begin;
  const std::vector<float> before(opt.parameters()[muon_tensor].value,
                                  opt.parameters()[muon_tensor].value + opt.parameters()[muon_tensor].size);
  random_grads(frozen, 1);
  opt.step();
  CHECK(std::equal(before.begin(), before.end(), opt.parameters()[muon_tensor].value));
}

TEST_CASE("Muon: a checkpoint resumes bit-identically (momentum buffers and step count restored)") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "ctnn_muon_checkpoint";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path file = dir / "checkpoint.safetensors";

  Net straight(21);
  auto o_straight = make_muon(straight);
  for (int s = 0; s < 6; ++s) {
    random_grads(straight, 70 + static_cast<std::uint64_t>(s));
    o_straight.step();
    if (s == 2) io::save_checkpoint(file, straight, o_straight, {.epoch = 1});
  }
  Net resumed(99);  // other initial weights: everything must come from the file
  auto o_resumed = make_muon(resumed);
  io::load_checkpoint(file, resumed, o_resumed);
  CHECK(o_resumed.steps() == 3);
  for (int s = 3; s < 6; ++s) {
    random_grads(resumed, 70 + static_cast<std::uint64_t>(s));
    o_resumed.step();
  }
  CHECK(std::memcmp(straight.parameter_data(), resumed.parameter_data(), sizeof(float) * Net::param_count) == 0);
  CHECK(std::equal(o_straight.state().begin(), o_straight.state().end(), o_resumed.state().begin()));
  // Without the momentum buffers the run differs (so the check above has something to see).
  Net no_state(99);
  auto o_no_state = make_muon(no_state);
  io::load_checkpoint(file, no_state, o_no_state);
  o_no_state.state().zero();
  for (int s = 3; s < 6; ++s) {
    random_grads(no_state, 70 + static_cast<std::uint64_t>(s));
    o_no_state.step();
  }
  CHECK(std::memcmp(straight.parameter_data(), no_state.parameter_data(), sizeof(float) * Net::param_count) != 0);
  fs::remove_all(dir);
}

TEST_CASE("Muon: a small conv net on Muon (filters) and SGD (the rest) learns a separable problem") {
  using Small = Sequential<Input<3, 16, 16>, Conv<3, 8, 3>, BatchNorm, ReLU, MaxPool<2>, Conv<8, 16, 3>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<4>>;
  Small net(4);
  Muon opt{muon_groups(net.parameters(), {.lr = 0.02, .aux_lr = 0.05, .first_layer_on_muon = true}),
           MuonOptions{.aux = {.momentum = 0.9, .nesterov = true}}};
  REQUIRE(opt.param_groups().size() == 2);
  CHECK(opt.param_groups()[1].end - opt.param_groups()[1].begin == 8);  // biases, BatchNorm, head
  Rng rng(9);
  const auto r = test::learn_separable(net, opt, rng);
  INFO("first loss " << r.first_loss << ", last train loss " << r.last_loss << ", held-out loss " << r.held_out_loss);
  CHECK(r.last_loss < 0.2 * r.first_loss);
  CHECK(r.held_out_correct == 200);
}
