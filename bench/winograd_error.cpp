// The error of a conv's three passes with bf16 GEMM inputs, im2col against Winograd F(2x2, 3x3) and
// F(4x4, 3x3), each against the im2col path in double (docs/winograd.md, "Zen 4, 2026-12-07"): why a
// Winograd conv runs its GEMMs in fp32 in a bf16 network (kernels::winograd_gemm_precision). Each pass is
// called directly with its GEMM plans set to the precision shown (so "F4 bf16" is what a bf16 network
// would compute if the Winograd GEMMs took the network's precision). Inputs ReLU-like (max(0, N(0, 1))),
// weights N(0, 1 / (9 Cin)), output gradients N(0, 1). Prints max |err| / max |ref| and the rms ratio.
//
//   bench_winograd_error [batch]   (default 32; threads from OMP_NUM_THREADS)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/kernels/winograd_backward.hpp>
#include <ctnn/kernels/winograd_select.hpp>

using namespace ctnn;
using namespace ctnn::kernels;

namespace {

struct Inputs {
  std::vector<double> x, w, dy;
};
struct Passes {
  std::vector<double> y, dx, dw;
};

void print_error(const char* name, const std::vector<float>& a, const std::vector<double>& ref) {
  double worst = 0, scale = 0, e2 = 0, r2 = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = a[i] - ref[i];
    worst = std::max(worst, std::abs(d));
    scale = std::max(scale, std::abs(ref[i]));
    e2 += d * d;
    r2 += ref[i] * ref[i];
  }
  std::printf("  %s max %.1e rms %.1e", name, worst / scale, std::sqrt(e2 / r2));
}

// M = 0: im2col; 2, 4: Winograd F(M x M, 3x3).
template <ConvGeometry G, std::size_t M>
void run(Precision p, std::size_t n, const Inputs& in, const Passes& ref) {
  const auto threads = static_cast<std::size_t>(std::max(num_threads(), thread_width()));
  const auto slots = static_cast<std::size_t>(thread_width());
  const std::vector<float> x(in.x.begin(), in.x.end()), w(in.w.begin(), in.w.end()), dy(in.dy.begin(), in.dy.end());
  const std::vector<float> b(G.cout, 0.0f);
  std::vector<float> y(n * G.out_size()), dx(n * G.in_size()), dw(G.weight_size(), 0.0f), db(G.cout, 0.0f);
  std::vector<ConvThreadPlans<float>> plans(threads);
  for (auto& plan : plans) {
    plan.forward.set_precision(p);
    plan.weight_grad.set_precision(p);
    plan.input_grad.set_precision(p);
  }
  if constexpr (M == 0) {
    AlignedBuffer<float> scratch(threads * conv_scratch_per_thread<G> + 1), partial(slots * (G.weight_size() + G.cout));
    conv2d_forward<G>(x.data(), w.data(), b.data(), y.data(), n, scratch.data(), plans.data());
    conv2d_backward<G>(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), n, scratch.data(),
                       partial.data(), plans.data(), slots);
  } else {
    using S = WinogradShape<G, M>;
    AlignedBuffer<float> u(S::filter_buffer), scratch(threads * S::scratch), partial(slots * S::partial);
    winograd_forward<G, M>(x.data(), w.data(), b.data(), y.data(), n, u.data(), scratch.data(), plans.data());
    winograd_backward<G, M>(x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data(), n, u.data(),
                            scratch.data(), partial.data(), plans.data(), slots);
  }
  const std::string label = (M == 0 ? std::string("im2col") : "F" + std::to_string(M)) + " " + precision_name(p);
  std::printf("  %-12s", label.c_str());
  print_error("y", y, ref.y);
  print_error("dx", dx, ref.dx);
  print_error("dw", dw, ref.dw);
  std::printf("\n");
}

template <ConvGeometry G>
void shape(const char* name, std::size_t n) {
  Rng rng(3);
  Inputs in{std::vector<double>(n * G.in_size()), std::vector<double>(G.weight_size()),
            std::vector<double>(n * G.out_size())};
  for (auto& v : in.x) v = std::max(0.0, rng.normal());
  for (auto& v : in.w) v = rng.normal() / std::sqrt(9.0 * static_cast<double>(G.cin));
  for (auto& v : in.dy) v = rng.normal();
  const auto threads = static_cast<std::size_t>(std::max(num_threads(), thread_width()));
  const auto slots = static_cast<std::size_t>(thread_width());
  Passes ref{std::vector<double>(n * G.out_size()), std::vector<double>(n * G.in_size()),
             std::vector<double>(G.weight_size())};
  std::vector<double> bias(G.cout, 0.0), db(G.cout, 0.0);
  AlignedBuffer<double> scratch(threads * conv_scratch_per_thread<G> + 1), partial(slots * (G.weight_size() + G.cout));
  std::vector<ConvThreadPlans<double>> plans(threads);
  conv2d_forward<G>(in.x.data(), in.w.data(), bias.data(), ref.y.data(), n, scratch.data(), plans.data());
  conv2d_backward<G>(in.x.data(), in.w.data(), in.dy.data(), ref.dx.data(), ref.dw.data(), db.data(), n,
                     scratch.data(), partial.data(), plans.data(), slots);
  std::printf("%s, batch %zu\n", name, n);
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    run<G, 0>(p, n, in, ref);
    run<G, 2>(p, n, in, ref);
    run<G, 4>(p, n, in, ref);
  }
}

constexpr ConvGeometry conv3x3(std::size_t cin, std::size_t cout, std::size_t hw) {
  return {cin, cout, 3, 1, 1, hw, hw, hw, hw};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 32;
  shape<conv3x3(24, 64, 31)>("airbench 24->64 @31", n);
  shape<conv3x3(64, 64, 15)>("airbench 64->64 @15", n);
  shape<conv3x3(64, 256, 15)>("airbench 64->256 @15", n);
  shape<conv3x3(256, 256, 7)>("airbench 256->256 @7", n);
  shape<conv3x3(128, 128, 16)>("ResNet-9 128->128 @16", n);
  shape<conv3x3(512, 512, 4)>("ResNet-9 512->512 @4", n);
}
