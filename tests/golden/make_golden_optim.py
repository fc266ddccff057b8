#!/usr/bin/python3
"""Generate the golden vectors of ctnn's training-recipe machinery (tests/golden/data/):

  sched.ctv         learning rates of torch.optim.lr_scheduler schedules, stepped once per
                    optimizer step, per parameter group
  param_groups.ctv  3 steps of SGD (Nesterov), Adam and AdamW with two parameter groups of
                    different lr / weight decay, and SGD driven by OneCycleLR

Run with Debian's interpreter, which has torch:

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 tests/golden/make_golden_optim.py

Same .ctv format and float64-reference convention as make_golden.py (whose writer this
reuses): inputs are drawn in float32, everything is computed in float64, results are stored
rounded to float32. The C++ tests (tests/unit/test_schedule.cpp, test_param_groups.cpp) hold
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


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "data"), help="output directory (default: tests/golden/data)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    for build in (make_schedules, make_param_groups):
        g = build()
        path, size = g.write(args.out)
        print(f"{os.path.relpath(path)}: {len(g.items)} tensors, {size} bytes")
    print(f"torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
