// Parameter groups in SGD / Adam / AdamW against torch's param_groups
// (tests/golden/data/param_groups.ctv, written by tests/golden/make_golden_optim.py, whose
// CONFIG comments these settings repeat), the single-group equivalence and state layout, and
// the decay / no-decay split.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "support/golden.hpp"

using namespace ctnn;

namespace {

const test::GoldenFile& golden() {
  static const test::GoldenFile f = test::GoldenFile::load("param_groups");
  return f;
}

// The three tensors of the golden runs, a [4,3] and b [5] in group 1, c [2,2] in group 2.
struct Tensors {
  std::vector<std::string> names{"a", "b", "c"};
  std::vector<std::vector<float>> value, grad;
  explicit Tensors(const std::string& tag) {
    for (const auto& n : names) {
      const auto& init = golden()[tag + ".init." + n];
      value.emplace_back(init.f32);
      grad.emplace_back(init.f32.size(), 0.f);
    }
  }
  ParamRef<float> ref(std::size_t i) {
    return {names[i], ParamKind::weight, value[i].data(), grad[i].data(), value[i].size(), {value[i].size()}};
  }
  std::vector<ParamGroup<float>> groups(double lr1, double wd1, double lr2, double wd2) {
    return {{{ref(0), ref(1)}, lr1, wd1, "g1"}, {{ref(2)}, lr2, wd2, "g2"}};
  }
};

// Runs the golden file's steps for `tag`: feed the stored gradients, step, compare with torch.
template <class Optimizer>
void run_against_torch(const std::string& tag, Tensors& t, Optimizer& opt, int steps = 3,
                       const Schedule* schedule = nullptr) {
  for (int s = 1; s <= steps; ++s) {
    const std::string S = std::to_string(s);
    if (schedule) schedule->apply(opt, opt.steps());
    const auto& lrs = golden()[tag + ".lr." + S];
    for (std::size_t g = 0; g < 2; ++g) {
      INFO(tag << " step " << s << " group " << g);
      CHECK(opt.param_groups()[g].lr == doctest::Approx(lrs.at(g)).epsilon(1e-6));
    }
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& g = golden()[tag + ".grad." + S + "." + t.names[i]];
      std::copy(g.f32.begin(), g.f32.end(), t.grad[i].begin());
    }
    opt.step();
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& want = golden()[tag + ".after." + S + "." + t.names[i]];
      const auto c = test::compare(t.value[i], want);
      test::record("param_groups", tag + ".after." + S + "." + t.names[i], c.rel);
      INFO(tag << " after step " << s << ", tensor " << t.names[i] << ": rel error " << c.rel);
      CHECK(c.rel < 1e-5);
    }
  }
}

using Tiny = Sequential<Input<3, 8, 8>, Conv<3, 4, 3>, BatchNorm, ReLU, MaxPool<2>, Linear<3>>;

void random_grads(Tiny& net, std::uint64_t seed) {
  Rng rng(seed);
  for (std::size_t i = 0; i < Tiny::param_count; ++i) net.gradient_data()[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
}

std::vector<std::string> names(const ParamGroup<float>& g) {
  std::vector<std::string> out;
  for (const auto& p : g.params) out.push_back(p.name);
  return out;
}

}  // namespace

TEST_CASE("param groups: SGD with two groups (lr, weight decay) and Nesterov matches torch for 3 steps") {
  Tensors t("sgd");
  SGD<float> opt{t.groups(0.1, 5e-3, 0.02, 0.0), SGDOptions{.lr = 0.5, .momentum = 0.9, .nesterov = true}};
  run_against_torch("sgd", t, opt);
}

TEST_CASE("param groups: Adam and AdamW with two groups match torch for 3 steps") {
  Tensors ta("adam");
  Adam<float> adam{ta.groups(1e-2, 1e-2, 3e-3, 0.0)};
  run_against_torch("adam", ta, adam);
  Tensors tw("adamw");
  AdamW<float> adamw{tw.groups(1e-2, 0.1, 3e-3, 0.0)};
  run_against_torch("adamw", tw, adamw);
}

TEST_CASE("param groups: a OneCycleLR schedule drives both groups' lr as torch's does") {
  Tensors t("sgd_onecycle");
  SGD<float> opt{t.groups(0.1, 5e-3, 0.02, 0.0), SGDOptions{.lr = 0.5, .momentum = 0.9, .nesterov = true}};
  const Schedule s = OneCycleLR{.total_steps = 10};
  run_against_torch("sgd_onecycle", t, opt, 4, &s);
}

TEST_CASE("param groups: a group without its own lr or weight decay takes the optimizer's") {
  Tensors t("sgd");
  SGD<float> opt{std::vector<ParamGroup<float>>{{{t.ref(0)}}, {{t.ref(1)}, 0.3}, {{t.ref(2)}, std::nullopt, 0.5}},
                 SGDOptions{.lr = 0.05, .weight_decay = 1e-3}};
  REQUIRE(opt.param_groups().size() == 3);
  CHECK(opt.param_groups()[0].lr == 0.05);
  CHECK(opt.param_groups()[0].weight_decay == 1e-3);
  CHECK(opt.param_groups()[1].lr == 0.3);
  CHECK(opt.param_groups()[1].base_lr == 0.3);
  CHECK(opt.param_groups()[1].weight_decay == 1e-3);
  CHECK(opt.param_groups()[2].lr == 0.05);
  CHECK(opt.param_groups()[2].weight_decay == 0.5);
  CHECK(opt.parameters().size() == 3);
  // The plain constructor is one group with the options' lr and decay.
  SGD<float> one{Parameters<float>{t.ref(0), t.ref(1)}, SGDOptions{.lr = 0.05, .weight_decay = 1e-3}};
  REQUIRE(one.param_groups().size() == 1);
  CHECK(one.param_groups()[0].lr == 0.05);
  CHECK(one.param_groups()[0].end == 2);
  one.set_lr(0.2);
  CHECK(one.lr() == 0.2);
  CHECK(one.param_groups()[0].base_lr == 0.05);
}

TEST_CASE("param groups: one group is the single-group optimizer, and regrouping keeps the state layout") {
  // Same network, same gradients: the plain optimizer, one explicit group, and the network split
  // into decay groups with no decay at all must move every weight identically, and leave the
  // state arena (what a checkpoint saves) the same, element for element.
  Tiny plain(7), one(7), split(7);
  SGD<float> o_plain{plain.parameters(), SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true}};
  SGD<float> o_one{std::vector<ParamGroup<float>>{{one.parameters()}},
                   SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true}};
  auto groups = decay_groups(split.parameters(), {.lr = 0.05, .weight_decay = 0.0});
  REQUIRE(groups.size() == 2);
  SGD<float> o_split{groups, SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true}};
  // The split reorders the tensors (weights first), so the arena must not follow the group order.
  CHECK(o_split.parameters()[1].name == "4.weight");
  for (int step = 0; step < 3; ++step) {
    for (Tiny* n : {&plain, &one, &split}) random_grads(*n, 100 + static_cast<std::uint64_t>(step));
    o_plain.step();
    o_one.step();
    o_split.step();
  }
  CHECK(std::memcmp(plain.parameter_data(), one.parameter_data(), sizeof(float) * Tiny::param_count) == 0);
  CHECK(std::memcmp(plain.parameter_data(), split.parameter_data(), sizeof(float) * Tiny::param_count) == 0);
  REQUIRE(o_plain.state().size() == o_split.state().size());
  CHECK(std::equal(o_plain.state().begin(), o_plain.state().end(), o_one.state().begin()));
  CHECK(std::equal(o_plain.state().begin(), o_plain.state().end(), o_split.state().begin()));

  // And with Adam's two moment slots.
  Tiny a1(3), a2(3);
  Adam<float> adam1{a1.parameters(), {.lr = 1e-2}};
  Adam<float> adam2{decay_groups(a2.parameters(), {.lr = 1e-2}), {.lr = 1e-2}};
  for (Tiny* n : {&a1, &a2}) random_grads(*n, 5);
  adam1.step();
  adam2.step();
  CHECK(std::memcmp(a1.parameter_data(), a2.parameter_data(), sizeof(float) * Tiny::param_count) == 0);
  CHECK(std::equal(adam1.state().begin(), adam1.state().end(), adam2.state().begin()));
}

TEST_CASE("param groups: decay_groups keeps norms and biases out of weight decay") {
  Tiny net(1);
  const auto g = decay_groups(net.parameters(), {.lr = 0.1, .weight_decay = 5e-4});
  REQUIRE(g.size() == 2);
  CHECK(g[0].name == "decay");
  CHECK(names(g[0]) == std::vector<std::string>{"0.weight", "4.weight"});
  CHECK(*g[0].lr == 0.1);
  CHECK(*g[0].weight_decay == 5e-4);
  CHECK(g[1].name == "no_decay");
  CHECK(names(g[1]) == std::vector<std::string>{"0.bias", "1.weight", "1.bias", "4.bias"});
  CHECK(*g[1].lr == 0.1);
  CHECK(*g[1].weight_decay == 0.0);

  // Decay on everything but the norm weights.
  const auto h = decay_groups(net.parameters(),
                              {.lr = 0.1, .weight_decay = 5e-4, .decay_biases = true, .decay_norm_biases = true});
  REQUIRE(h.size() == 2);
  CHECK(names(h[0]) == std::vector<std::string>{"0.weight", "0.bias", "1.bias", "4.weight", "4.bias"});
  CHECK(names(h[1]) == std::vector<std::string>{"1.weight"});

  // Everything decays: a single group.
  const auto all = decay_groups(net.parameters(), {.lr = 0.1, .weight_decay = 5e-4, .decay_biases = true,
                                                   .decay_norm_weights = true, .decay_norm_biases = true});
  REQUIRE(all.size() == 1);
  CHECK(all[0].params.size() == 6);
}

TEST_CASE("param groups: airbench's BN-bias group keeps lr x weight decay equal to the weights'") {
  Tiny net(1);
  const double lr = 0.2, wd = 5e-4;
  const auto g = decay_groups(net.parameters(), {.lr = lr, .weight_decay = wd, .decay_biases = true,
                                                 .decay_norm_weights = true, .decay_norm_biases = true,
                                                 .norm_bias_lr_scale = 64});
  REQUIRE(g.size() == 2);
  CHECK(names(g[0]) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "4.weight", "4.bias"});
  CHECK(g[1].name == "norm_bias");
  CHECK(names(g[1]) == std::vector<std::string>{"1.bias"});
  CHECK(*g[1].lr == doctest::Approx(lr * 64));
  CHECK(*g[1].lr * *g[1].weight_decay == doctest::Approx(lr * wd));
  // Without decay on norm biases their group has none, but keeps the lr scale.
  const auto n = decay_groups(net.parameters(), {.lr = lr, .weight_decay = wd, .norm_bias_lr_scale = 64});
  REQUIRE(n.size() == 3);
  CHECK(n[2].name == "norm_bias");
  CHECK(*n[2].weight_decay == 0.0);
  // One SGD step on a frozen weight (zero gradient): every tensor shrinks by the same 1 - lr x wd.
  auto groups = g;
  SGD<float> opt{groups, SGDOptions{.lr = lr}};
  for (auto& p : net.parameters()) {
    std::fill(p.grad, p.grad + p.size, 0.f);
    std::fill(p.value, p.value + p.size, 1.f);
  }
  opt.step();
  for (auto& p : net.parameters()) CHECK(p.value[0] == doctest::Approx(1 - lr * wd));
}

TEST_CASE("param groups: bad groups are refused with the optimizer, group and tensor named") {
  Tensors t("sgd");
  auto msg = [](auto make) {
    try {
      make();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(msg([&] {
          SGD<float>(std::vector<ParamGroup<float>>{{{t.ref(0), t.ref(1)}}, {{t.ref(2), t.ref(0)}, 0.1, 0.0, "late"}},
                     SGDOptions{});
        }) == "SGD: parameter group 1 (\"late\"): tensor \"a\" is already in an earlier group");
  CHECK(msg([&] { Adam<float>(std::vector<ParamGroup<float>>{{{t.ref(0)}, -1.0}}); }) ==
        "Adam: parameter group 0: lr must be >= 0");
  CHECK(msg([&] { AdamW<float>(std::vector<ParamGroup<float>>{{{t.ref(0)}, 0.1, -0.5}}); }) ==
        "AdamW: parameter group 0: weight_decay must be >= 0");
  CHECK(msg([&] { SGD<float>(std::vector<ParamGroup<float>>{}, SGDOptions{}); }) == "SGD: no parameter groups given");
  CHECK(msg([&] { SGD<float>(t.groups(0.1, 0, 0.1, 0), SGDOptions{.nesterov = true}); }).find("Nesterov") !=
        std::string::npos);
  CHECK(msg([&] { decay_groups(Parameters<float>{t.ref(0)}, {.norm_bias_lr_scale = 0}); }).find(
            "norm_bias_lr_scale") != std::string::npos);
  // An empty group is fine (a network without norms gives an empty no-decay split).
  CHECK(msg([&] { SGD<float>(std::vector<ParamGroup<float>>{{{t.ref(0)}}, {{}}}, SGDOptions{}); }) == "(no error)");
}
