#!/usr/bin/python3
"""Generate the golden vectors of ctnn's training-recipe machinery (tests/golden/data/):

  sched.ctv         learning rates of torch.optim.lr_scheduler schedules, stepped once per
                    optimizer step, per parameter group
  param_groups.ctv  3 steps of SGD (Nesterov), Adam and AdamW with two parameter groups of
                    different lr / weight decay, and SGD driven by OneCycleLR
  optim_muon.ctv    4 steps of Muon (MuonReference below) on a wide and a tall matrix and a
                    wide and a tall conv filter: the Muon repository's defaults (Nesterov),
                    without Nesterov with decoupled weight decay, and SGD-style momentum
  optim_muon_airbench.ctv  4 steps of airbench94_muon's pair of optimizers: Muon on two conv
                    filters, torch.optim.SGD on a BatchNorm bias and the head

Run with Debian's interpreter, which has torch:

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 tests/golden/make_golden_optim.py

Same .ctv format and float64-reference convention as make_golden.py (whose writer this
reuses): inputs are drawn in float32, everything is computed in float64, results are stored
rounded to float32. The C++ tests (tests/unit/test_schedule.cpp, test_param_groups.cpp, test_muon.cpp) hold
the same configurations as the CONFIG comments below; change both together.
"""

import argparse
import math
import os
import sys
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from torch.optim import lr_scheduler as S  # noqa: E402

from make_golden import Golden  # noqa: E402

# SequentialLR steps its schedulers with an explicit epoch at each milestone (closed form),
# which torch 1.13 reports with a deprecation warning.
warnings.filterwarnings("ignore", message="The epoch parameter")

# Two groups with different base lrs, so a schedule that treats groups differently shows.
BASE_LRS = (0.1, 0.0064)


def dummy_optimizer(base_lrs=BASE_LRS):
    groups = [{"params": [torch.zeros(1, dtype=torch.float64, requires_grad=True)], "lr": lr}
              for lr in base_lrs]
    # momentum=0: OneCycleLR's momentum cycling is not part of what ctnn reproduces.
    return torch.optim.SGD(groups, lr=base_lrs[0])


def trace(make_sched, steps, base_lrs=BASE_LRS):
    """lr of every group used by optimizer steps 0..steps-1 (opt.step(); sched.step() order)."""
    opt = dummy_optimizer(base_lrs)
    sched = make_sched(opt)
    out = []
    for s in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        if s + 1 < steps:
            opt.step()
            sched.step()
    return torch.tensor(out, dtype=torch.float64)  # [steps, groups]


def airbench_triangle(total):
    # airbench94's get_lr: 0.2 -> 1.0 over int(0.23 * total) steps, then -> 0.07 at total.
    warmup = int(total * 0.23)
    warmdown = total - warmup

    def get_lr(step):
        if step < warmup:
            frac = step / warmup
            return 0.2 * (1 - frac) + 1.0 * frac
        frac = (step - warmup) / warmdown
        return 1.0 * (1 - frac) + 0.07 * frac
    return get_lr


def make_schedules():
    g = Golden("sched")
    g.f32("base_lrs", torch.tensor(BASE_LRS, dtype=torch.float64))
    # CONFIG: StepLR(step_size=7, gamma=0.5), 30 steps
    g.f32("step", trace(lambda o: S.StepLR(o, step_size=7, gamma=0.5), 30))
    # CONFIG: MultiStepLR(milestones=[5, 12, 12, 20], gamma=0.3), 30 steps (12 twice: gamma^2)
    g.f32("multistep", trace(lambda o: S.MultiStepLR(o, milestones=[5, 12, 12, 20], gamma=0.3), 30))
    # CONFIG: CosineAnnealingLR(T_max=40, eta_min=0), 41 steps; (T_max=25, eta_min=1e-3), 26 steps
    g.f32("cosine", trace(lambda o: S.CosineAnnealingLR(o, T_max=40), 41))
    g.f32("cosine_eta", trace(lambda o: S.CosineAnnealingLR(o, T_max=25, eta_min=1e-3), 26))
    # CONFIG: OneCycleLR, total_steps=50, max_lr = each group's lr unless given:
    #   onecycle          defaults (pct 0.3, cos, div 25, final_div 1e4), max_lr=[0.1, 0.0064]
    #   onecycle_linear   pct 0.25, linear, div 10, final_div 100, max_lr=[0.1, 0.0064]
    #   onecycle_three    three_phase, pct 0.3, cos, max_lr=[0.1, 0.0064]
    #   onecycle_scalar   max_lr=0.5 (one absolute value for every group), total_steps=37
    # Every trace includes step total_steps itself, which torch still accepts (extrapolated).
    def onecycle(total, max_lr=list(BASE_LRS), **kw):
        return lambda o: S.OneCycleLR(o, max_lr=max_lr, total_steps=total, cycle_momentum=False, **kw)
    g.f32("onecycle", trace(onecycle(50), 51))
    g.f32("onecycle_linear", trace(onecycle(50, pct_start=0.25, anneal_strategy="linear",
                                            div_factor=10.0, final_div_factor=100.0), 51))
    g.f32("onecycle_three", trace(onecycle(50, three_phase=True), 51))
    g.f32("onecycle_scalar", trace(onecycle(37, max_lr=0.5), 38))
    # CONFIG: warm-up then decay, 60 steps in all, single group of lr 0.1:
    #   warmup_cosine  LinearLR(start 0.1, 8 steps) then CosineAnnealingLR(T_max=52, eta_min=0.1*0.05)
    #   warmup_linear  LinearLR(start 0.25, 10 steps) then LinearLR(1 -> 0.02 over 50 steps), both groups
    def warmup_cos(o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=8),
                                  S.CosineAnnealingLR(o, T_max=52, eta_min=0.1 * 0.05)], milestones=[8])

    def warmup_lin(o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=10),
                                  S.LinearLR(o, start_factor=1.0, end_factor=0.02, total_iters=50)],
                              milestones=[10])
    g.f32("warmup_cosine", trace(warmup_cos, 60, base_lrs=(0.1,)))
    g.f32("warmup_linear", trace(warmup_lin, 60))
    # CONFIG: airbench's triangle as a LambdaLR over 97 steps (int(97 * 0.23) = 22), 98 steps
    g.f32("triangle", trace(lambda o: S.LambdaLR(o, airbench_triangle(97)), 98))
    # Sanity check of the closed forms the C++ side uses, where torch steps recursively.
    cos = g.items[[n for n, _, _ in g.items].index("cosine")][2]
    for s in range(41):
        want = 0.1 * (1 + math.cos(math.pi * s / 40)) / 2
        assert abs(cos[s, 0] - want) <= 1e-6 * 0.1, (s, cos[s, 0], want)
    return g


# Three tensors in two groups: {a, b} and {c}.
SHAPES = {"a": (4, 3), "b": (5,), "c": (2, 2)}


def run_groups(g, tag, make_opt, steps=3, make_sched=None):
    torch.manual_seed(1234)
    init32 = {k: torch.randn(*s, dtype=torch.float32) for k, s in SHAPES.items()}
    grads32 = [{k: torch.randn(*s, dtype=torch.float32) for k, s in SHAPES.items()} for _ in range(steps)]
    p = {k: v.double().clone().requires_grad_(True) for k, v in init32.items()}
    opt = make_opt([p["a"], p["b"]], [p["c"]])
    sched = make_sched(opt) if make_sched else None
    for k in SHAPES:
        g.f32(f"{tag}.init.{k}", init32[k])
    for s in range(steps):
        lrs = [grp["lr"] for grp in opt.param_groups]
        g.f32(f"{tag}.lr.{s + 1}", torch.tensor(lrs, dtype=torch.float64))
        for k in SHAPES:
            g.f32(f"{tag}.grad.{s + 1}.{k}", grads32[s][k])
            p[k].grad = grads32[s][k].double().clone()
        opt.step()
        if sched:
            sched.step()
        for k in SHAPES:
            g.f32(f"{tag}.after.{s + 1}.{k}", p[k])


def make_param_groups():
    g = Golden("param_groups")
    # CONFIG: SGD(momentum 0.9, Nesterov), group 1 {a, b}: lr 0.1, wd 5e-3; group 2 {c}: lr 0.02, wd 0
    run_groups(g, "sgd", lambda g1, g2: torch.optim.SGD(
        [{"params": g1, "lr": 0.1, "weight_decay": 5e-3}, {"params": g2, "lr": 0.02, "weight_decay": 0.0}],
        lr=0.5, momentum=0.9, nesterov=True))
    # CONFIG: Adam, group 1: lr 1e-2, wd 1e-2 (L2); group 2: lr 3e-3, wd 0
    run_groups(g, "adam", lambda g1, g2: torch.optim.Adam(
        [{"params": g1, "lr": 1e-2, "weight_decay": 1e-2}, {"params": g2, "lr": 3e-3, "weight_decay": 0.0}]))
    # CONFIG: AdamW, group 1: lr 1e-2, wd 0.1 (decoupled); group 2: lr 3e-3, wd 0
    run_groups(g, "adamw", lambda g1, g2: torch.optim.AdamW(
        [{"params": g1, "lr": 1e-2, "weight_decay": 0.1}, {"params": g2, "lr": 3e-3, "weight_decay": 0.0}]))
    # CONFIG: the SGD groups above driven by OneCycleLR(max_lr=[0.1, 0.02], total_steps=10), 4 steps
    run_groups(g, "sgd_onecycle", lambda g1, g2: torch.optim.SGD(
        [{"params": g1, "lr": 0.1, "weight_decay": 5e-3}, {"params": g2, "lr": 0.02, "weight_decay": 0.0}],
        lr=0.5, momentum=0.9, nesterov=True), steps=4,
        make_sched=lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.02], total_steps=10, cycle_momentum=False))
    return g


# Muon, written from the published algorithm: Keller Jordan's Muon repository (muon.py:
# zeropower_via_newtonschulz5, muon_update, SingleDeviceMuon) and cifar10-airbench's
# airbench94_muon.py (its Muon class). Both run the iteration in bfloat16 on the GPU; this one
# runs in float64, the reference precision of every golden here.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def zeropower_via_newtonschulz5(G, steps, eps=1e-7, coefficients=NS_COEFFICIENTS):
    """The quintic Newton-Schulz iteration on a 2-D G: about U V^T for G = U S V^T."""
    assert G.ndim == 2
    a, b, c = coefficients
    X = G.to(torch.float64)
    if G.size(0) > G.size(1):
        X = X.T
    X = X / (X.norm() + eps)  # every singular value <= 1
    for _ in range(steps):
        A = X @ X.T
        B = b * A + c * A @ A
        X = a * X + B @ X
    if G.size(0) > G.size(1):
        X = X.T
    return X


class MuonReference(torch.optim.Optimizer):
    """Muon on tensors of 2 or more dimensions, each seen as [rows, prod(rest)].

    momentum_style "ema": the Muon repository's muon_update (buf.lerp_(g, 1 - momentum);
        Nesterov: g.lerp(buf, momentum)); "sgd": airbench94_muon's (buf.mul_(momentum).add_(g);
        Nesterov: g + momentum buf). The buffer starts at zero.
    scale "shape": the update times max(1, rows / cols) ** 0.5 with rows, cols of the
        [rows, prod(rest)] matrix (the repository's code takes the last two dimensions of the
        tensor, which for a conv filter is K / K = 1; the two agree on filters wider than tall);
        "none": airbench94_muon.
    renormalize: airbench94_muon's p.mul_(len(p) ** 0.5 / p.norm()) before the step.
    weight_decay: decoupled (p.mul_(1 - lr weight_decay)), as the repository's.
    """

    def __init__(self, params, lr=0.02, momentum=0.95, nesterov=True, weight_decay=0.0, ns_steps=5,
                 eps=1e-7, momentum_style="ema", scale="shape", renormalize=False):
        assert momentum_style in ("ema", "sgd") and scale in ("shape", "none")
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                        ns_steps=ns_steps, eps=eps, momentum_style=momentum_style, scale=scale,
                        renormalize=renormalize)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            lr, mu = group["lr"], group["momentum"]
            for p in group["params"]:
                g = p.grad
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(g)
                buf = state["momentum_buffer"]
                if group["momentum_style"] == "ema":
                    buf.lerp_(g, 1 - mu)
                    u = g.lerp(buf, mu) if group["nesterov"] else buf
                else:
                    buf.mul_(mu).add_(g)
                    u = g.add(buf, alpha=mu) if group["nesterov"] else buf
                if group["renormalize"]:
                    p.mul_(len(p) ** 0.5 / p.norm())
                M = u.reshape(len(u), -1)
                O = zeropower_via_newtonschulz5(M, group["ns_steps"], group["eps"])
                if group["scale"] == "shape":
                    O = O * max(1, M.size(0) / M.size(1)) ** 0.5
                p.mul_(1 - lr * group["weight_decay"])
                p.add_(O.view_as(p), alpha=-lr)


def run_muon(g, tag, shapes, make_opts, steps=4, seed=4321):
    """make_opts(params dict) -> optimizers stepped together (as airbench94_muon steps its two)."""
    torch.manual_seed(seed)
    init32 = {k: torch.randn(*s, dtype=torch.float32) for k, s in shapes.items()}
    grads32 = [{k: torch.randn(*s, dtype=torch.float32) for k, s in shapes.items()} for _ in range(steps)]
    p = {k: v.double().clone().requires_grad_(True) for k, v in init32.items()}
    opts = make_opts(p)
    for k in shapes:
        g.f32(f"{tag}.init.{k}", init32[k])
    for s in range(steps):
        for k in shapes:
            g.f32(f"{tag}.grad.{s + 1}.{k}", grads32[s][k])
            p[k].grad = grads32[s][k].double().clone()
        before = {k: p[k].detach().clone() for k in shapes}
        for opt in opts:
            opt.step()
        for k in shapes:
            g.f32(f"{tag}.after.{s + 1}.{k}", p[k])
            # The step itself, from float64 (after - before of the stored float32 tensors would
            # carry their rounding, about 1e-5 of a step of lr 0.02 on weights of scale 3).
            g.f32(f"{tag}.step.{s + 1}.{k}", p[k].detach() - before[k])


# A wide and a tall matrix, a wide conv filter [6, 27] and a tall one [32, 8].
MUON_SHAPES = {"wide": (8, 20), "tall": (20, 8), "conv": (6, 3, 3, 3), "conv_tall": (32, 2, 2, 2)}


def make_muon():
    g = Golden("optim_muon")
    every = lambda p: list(p.values())  # noqa: E731
    # CONFIG: nesterov   Muon repository defaults: lr 0.02, momentum 0.95 (ema), Nesterov, 5 steps, shape scale
    run_muon(g, "nesterov", MUON_SHAPES, lambda p: [MuonReference(every(p))])
    # CONFIG: plain_wd   lr 0.05, momentum 0.9 (ema), no Nesterov, decoupled weight decay 0.1, 5 steps, shape scale
    run_muon(g, "plain_wd", MUON_SHAPES, lambda p: [MuonReference(every(p), lr=0.05, momentum=0.9, nesterov=False,
                                                                  weight_decay=0.1)])
    # CONFIG: sgd_style  lr 0.03, momentum 0.8 (sgd), Nesterov, weight decay 0.01, 5 steps, no scale
    run_muon(g, "sgd_style", MUON_SHAPES, lambda p: [MuonReference(every(p), lr=0.03, momentum=0.8, weight_decay=0.01,
                                                                   momentum_style="sgd", scale="none")])
    return g


def make_muon_airbench():
    g = Golden("optim_muon_airbench")
    # CONFIG: airbench94_muon's optimizers, batch size 2000 (wd = 2e-6 x 2000):
    #   Muon(filters, lr 0.24, momentum 0.6 (sgd), Nesterov, 3 steps, renormalised, no scale)
    #   SGD([{norm_bias, lr 0.053, wd wd / 0.053}, {head, lr 0.67, wd wd / 0.67}], momentum 0.85, Nesterov)
    wd = 2e-6 * 2000
    shapes = {"conv1": (8, 6, 3, 3), "conv2": (12, 8, 3, 3), "norm_bias": (12,), "head": (10, 12)}

    def make(p):
        muon = MuonReference([p["conv1"], p["conv2"]], lr=0.24, momentum=0.6, nesterov=True, ns_steps=3,
                             momentum_style="sgd", scale="none", renormalize=True)
        sgd = torch.optim.SGD([dict(params=[p["norm_bias"]], lr=0.053, weight_decay=wd / 0.053),
                               dict(params=[p["head"]], lr=0.67, weight_decay=wd / 0.67)],
                              momentum=0.85, nesterov=True)
        return [sgd, muon]
    run_muon(g, "airbench", shapes, make)
    return g


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "data"), help="output directory (default: tests/golden/data)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    for build in (make_schedules, make_param_groups, make_muon, make_muon_airbench):
        g = build()
        path, size = g.write(args.out)
        print(f"{os.path.relpath(path)}: {len(g.items)} tensors, {size} bytes")
    print(f"torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
