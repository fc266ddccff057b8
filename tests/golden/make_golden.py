#!/usr/bin/python3
"""Generate ctnn's PyTorch golden test vectors (tests/golden/data/*.ctv).

Run with Debian's interpreter, which has torch:

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 tests/golden/make_golden.py

Every case seeds torch itself, draws its inputs (and default-initialised
parameters) in float32, then does ALL computation in float64 and stores the
results rounded to float32.  The references are therefore more exact than any
float32 implementation.  See README.md for the file format.
"""

import argparse
import os
import struct
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

MAGIC = b"CTNNGOLD"
VERSION = 1
DTYPE_F32 = 0
DTYPE_I32 = 1


class Golden:
    """An ordered list of named tensors, written as one .ctv file."""

    def __init__(self, name):
        self.name = name
        self.items = []  # (name, dtype, ndarray) in insertion order
        self.names = set()

    def _add(self, name, dtype, arr):
        if name in self.names:
            raise ValueError(f"{self.name}: duplicate tensor {name!r}")
        self.names.add(name)
        self.items.append((name, dtype, arr))

    def f32(self, name, t):
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().to(torch.float64).numpy()
        # (np.ascontiguousarray would turn a 0-d scalar into shape [1].)
        arr = np.asarray(t, dtype=np.float64).astype("<f4", order="C")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{self.name}: tensor {name!r} is not finite")
        self._add(name, DTYPE_F32, arr)

    def i32(self, name, t):
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        a64 = np.asarray(t, dtype=np.int64)
        if a64.size and (a64.min() < -(2**31) or a64.max() >= 2**31):
            raise ValueError(f"{self.name}: tensor {name!r} overflows int32")
        self._add(name, DTYPE_I32, a64.astype("<i4", order="C"))

    def write(self, directory):
        out = bytearray()
        out += MAGIC
        out += struct.pack("<II", VERSION, len(self.items))
        for name, dtype, arr in self.items:
            nb = name.encode("utf-8")
            out += struct.pack("<I", len(nb)) + nb
            out += struct.pack("<II", dtype, arr.ndim)
            for d in arr.shape:
                out += struct.pack("<q", d)
            assert arr.size == (int(np.prod(arr.shape)) if arr.ndim else 1)
            out += arr.tobytes(order="C")
        path = os.path.join(directory, self.name + ".ctv")
        with open(path, "wb") as f:
            f.write(bytes(out))
        return path, len(out)


def seed(n):
    torch.manual_seed(n)


def randn(*shape):
    """float32 standard normal values (the stored inputs are exactly these)."""
    return torch.randn(*shape, dtype=torch.float32)


def leaf64(t32):
    """float64 leaf that requires grad, built from float32 values."""
    return t32.to(torch.float64).clone().requires_grad_(True)


# ----------------------------------------------------------------------------
# 1. Conv2d
# ----------------------------------------------------------------------------
CONV_CASES = {
    #      Cin Cout K  S  P   H   W  N
    "a": (3, 4, 3, 1, 1, 7, 9, 1),
    "b": (2, 5, 5, 2, 0, 11, 10, 7),
    "c": (3, 16, 5, 1, 2, 8, 8, 2),
    "d": (4, 3, 1, 1, 0, 5, 6, 7),
    "e": (3, 6, 3, 2, 1, 9, 9, 7),
    "f": (5, 4, 4, 2, 1, 10, 10, 3),
}


def make_conv(case_seed, tag, cfg):
    cin, cout, k, s, p, h, w, n = cfg
    seed(case_seed)
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=p)  # default init, float32
    x32 = randn(n, cin, h, w)
    conv = conv.double()
    x = leaf64(x32)
    y = conv(x)
    dy32 = randn(*y.shape)
    y.backward(dy32.double())
    g = Golden(f"conv_{tag}")
    g.i32("config", list(cfg))
    g.f32("x", x32)
    g.f32("weight", conv.weight)
    g.f32("bias", conv.bias)
    g.f32("y", y)
    g.f32("dy", dy32)
    g.f32("dx", x.grad)
    g.f32("dweight", conv.weight.grad)
    g.f32("dbias", conv.bias.grad)
    return g


# ----------------------------------------------------------------------------
# 2. Linear on a flattened 4-d input
# ----------------------------------------------------------------------------
LINEAR_CASES = {
    #     C  H  W  Out N
    "a": (3, 3, 3, 5, 1),
    "b": (2, 1, 7, 13, 7),
}


def make_linear(case_seed, tag, cfg):
    c, h, w, out, n = cfg
    seed(case_seed)
    lin = nn.Linear(c * h * w, out)
    x32 = randn(n, c, h, w)
    lin = lin.double()
    x = leaf64(x32)
    y = lin(torch.flatten(x, 1))
    dy32 = randn(*y.shape)
    y.backward(dy32.double())
    g = Golden(f"linear_{tag}")
    g.i32("config", list(cfg))
    g.f32("x", x32)
    g.f32("weight", lin.weight)
    g.f32("bias", lin.bias)
    g.f32("y", y)
    g.f32("dy", dy32)
    g.f32("dx", x.grad)
    g.f32("dweight", lin.weight.grad)
    g.f32("dbias", lin.bias.grad)
    return g


# ----------------------------------------------------------------------------
# 3. BatchNorm
# ----------------------------------------------------------------------------
BN_CASES = {
    # name:     (module class, x shape)
    "bn2d": (nn.BatchNorm2d, (7, 3, 5, 4)),
    "bn1d": (nn.BatchNorm1d, (7, 6)),
    "bn2d_n1": (nn.BatchNorm2d, (1, 2, 3, 3)),
}


def bn_input(shape):
    # Non-zero mean and non-unit spread, so a wrong mean/variance shows.
    return (randn(*shape) * 1.5 + 0.7).to(torch.float32)


def make_bn(case_seed, name, cls, shape):
    c = shape[1]
    seed(case_seed)
    w32 = (torch.rand(c, dtype=torch.float32) + 0.5).to(torch.float32)  # U(0.5, 1.5)
    b32 = (randn(c) * 0.1).to(torch.float32)

    def fresh():
        m = cls(c, eps=1e-5, momentum=0.1)
        with torch.no_grad():
            m.weight.copy_(w32)
            m.bias.copy_(b32)
        return m.double()

    g = Golden(name)
    n = shape[0]
    hh = shape[2] if len(shape) == 4 else 1
    ww = shape[3] if len(shape) == 4 else 1
    g.i32("config", [n, c, hh, ww])
    g.f32("weight", w32)
    g.f32("bias", b32)

    # Train mode: one forward + backward.
    m = fresh().train()
    x32 = bn_input(shape)
    x = leaf64(x32)
    y = m(x)
    dy32 = randn(*shape)
    y.backward(dy32.double())
    g.f32("x", x32)
    g.f32("y", y)
    g.f32("dy", dy32)
    g.f32("dx", x.grad)
    g.f32("dweight", m.weight.grad)
    g.f32("dbias", m.bias.grad)

    # Running statistics: fresh module, three train-mode forwards.
    m = fresh().train()
    for i in (1, 2, 3):
        xi32 = bn_input(shape)
        g.f32(f"x{i}", xi32)
        with torch.no_grad():
            m(xi32.double())
    g.f32("running_mean", m.running_mean)
    g.f32("running_var", m.running_var)

    # Eval mode on that module (uses the running statistics).
    m.eval()
    xe32 = bn_input(shape)
    xe = leaf64(xe32)
    ye = m(xe)
    dye32 = randn(*shape)
    ye.backward(dye32.double())
    g.f32("x_eval", xe32)
    g.f32("y_eval", ye)
    g.f32("dy_eval", dye32)
    g.f32("dx_eval", xe.grad)
    g.f32("dweight_eval", m.weight.grad)
    g.f32("dbias_eval", m.bias.grad)
    return g


# ----------------------------------------------------------------------------
# 4. ReLU
# ----------------------------------------------------------------------------
def pointwise_golden(name, x32, fn):
    """x, y = fn(x) and dx for a random dy, computed in float64 from the float32 x."""
    x = leaf64(x32)
    y = fn(x)
    dy32 = randn(*y.shape)
    y.backward(dy32.double())
    g = Golden(name)
    g.f32("x", x32)
    g.f32("y", y)
    g.f32("dy", dy32)
    g.f32("dx", x.grad)
    return g, x


def make_relu(case_seed):
    seed(case_seed)
    x32 = randn(7, 3, 5, 5)
    zeros = torch.randperm(x32.numel())[:10]
    x32.view(-1)[zeros] = 0.0
    g, x = pointwise_golden("relu", x32, torch.relu)
    assert torch.all(x.grad.view(-1)[zeros] == 0)
    return g


def make_silu(case_seed):
    """torch.nn.SiLU, for the user-written layer of examples/custom_layer/silu.hpp."""
    seed(case_seed)
    return pointwise_golden("silu", randn(4, 3, 5, 5) * 3, torch.nn.functional.silu)[0]


# ----------------------------------------------------------------------------
# 5./6. Pooling
# ----------------------------------------------------------------------------
MAXPOOL_CASES = {
    #     K  S  x shape
    "a": (2, 2, (7, 3, 7, 7)),
    "b": (3, 2, (2, 4, 9, 8)),
    "c": (2, 1, (1, 2, 5, 5)),
}
AVGPOOL_CASES = {
    "a": (2, (7, 3, 7, 7)),
    "b": (3, (1, 2, 9, 9)),
}


def make_pool(case_seed, name, module, k, s, shape):
    seed(case_seed)
    x32 = randn(*shape)
    x = leaf64(x32)
    y = module(x)
    dy32 = randn(*y.shape)
    y.backward(dy32.double())
    g = Golden(name)
    g.i32("config", [k, s, *shape])
    g.f32("x", x32)
    g.f32("y", y)
    g.f32("dy", dy32)
    g.f32("dx", x.grad)
    return g


# ----------------------------------------------------------------------------
# 7. Cross entropy (mean reduction)
# ----------------------------------------------------------------------------
def ce(logits32, labels, label_smoothing=0.0):
    z = leaf64(logits32)
    loss = F.cross_entropy(z, labels.long(), reduction="mean",
                           label_smoothing=label_smoothing)
    loss.backward()
    return loss, z.grad


def make_cross_entropy(case_seed):
    seed(case_seed)
    g = Golden("cross_entropy")

    logits = (randn(7, 10) * 3).to(torch.float32)
    labels = torch.randint(0, 10, (7,))
    loss, dl = ce(logits, labels)
    g.f32("logits", logits)
    g.i32("labels", labels)
    g.f32("loss", loss)
    g.f32("dlogits", dl)
    loss, dl = ce(logits, labels, label_smoothing=0.1)
    g.f32("loss_ls", loss)
    g.f32("dlogits_ls", dl)

    logits1 = (randn(1, 10) * 3).to(torch.float32)
    labels1 = torch.randint(0, 10, (1,))
    loss, dl = ce(logits1, labels1)
    g.f32("logits_1", logits1)
    g.i32("labels_1", labels1)
    g.f32("loss_1", loss)
    g.f32("dlogits_1", dl)

    # Large magnitudes, uniform in [-80, 80], a few pinned at exactly +-80.
    big = ((torch.rand(4, 10, dtype=torch.float32) * 2 - 1) * 80).to(torch.float32)
    big[0, 3] = 80.0
    big[1, 0] = -80.0
    big[2, 7] = 80.0
    big[2, 8] = 80.0  # a tie at the maximum
    labels_big = torch.randint(0, 10, (4,))
    loss, dl = ce(big, labels_big)
    g.f32("logits_big", big)
    g.i32("labels_big", labels_big)
    g.f32("loss_big", loss)
    g.f32("dlogits_big", dl)

    # Beyond float32 exp range (exp(89) overflows float32): only a
    # max-subtracted log-sum-exp survives these.
    huge = ((torch.rand(3, 10, dtype=torch.float32) * 2 - 1) * 1000).to(torch.float32)
    labels_huge = torch.randint(0, 10, (3,))
    loss, dl = ce(huge, labels_huge)
    g.f32("logits_huge", huge)
    g.i32("labels_huge", labels_huge)
    g.f32("loss_huge", loss)
    g.f32("dlogits_huge", dl)
    return g


# ----------------------------------------------------------------------------
# 8. Whole network + optimizers
# ----------------------------------------------------------------------------
def make_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, 10))


OPTIMS = {
    "optim_sgd_nesterov": lambda p: torch.optim.SGD(
        p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
    "optim_adam": lambda p: torch.optim.Adam(p, lr=1e-3),
    "optim_adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-2),
}


def make_optim(name, make_opt):
    model = make_net()  # seeds 0, default init in float32
    # Batches continue the same random stream right after the initialisation,
    # so all three optimizer files share the initial parameters and batches.
    xs = [randn(8, 3, 32, 32) for _ in range(3)]
    ys = [torch.randint(0, 10, (8,)) for _ in range(3)]
    model = model.double().train()
    opt = make_opt(model.parameters())

    g = Golden(name)
    for pname, p in model.named_parameters():
        g.f32(f"init.{pname}", p)
    for s in (1, 2, 3):
        g.f32(f"x.{s}", xs[s - 1])
        g.i32(f"labels.{s}", ys[s - 1])
    for s in (1, 2, 3):
        logits = model(xs[s - 1].double())
        loss = F.cross_entropy(logits, ys[s - 1].long())
        g.f32(f"loss.{s}", loss)
        loss.backward()
        if s == 1:
            g.f32("logits.1", logits)
            for pname, p in model.named_parameters():
                g.f32(f"grad1.{pname}", p.grad)
        opt.step()
        opt.zero_grad()
    for pname, p in model.named_parameters():
        g.f32(f"final.{pname}", p)
    for i in (1, 5):
        g.f32(f"final.{i}.running_mean", model[i].running_mean)
        g.f32(f"final.{i}.running_var", model[i].running_var)
    return g



# ----------------------------------------------------------------------------
# 6. Blocks of the speed-run networks: residual blocks (identity and projected),
#    GELU, frozen-weight BatchNorm, global pooling, grouped/depthwise convs,
#    bias-free layers, output scaling. One nn.Sequential per case whose
#    state_dict names are ctnn's (a Residual's body layers are its children
#    "0", "1", ...; its projection is "shortcut").
# ----------------------------------------------------------------------------
class Residual(nn.Module):
    def __init__(self, *body, shortcut=None):
        super().__init__()
        for i, m in enumerate(body):
            self.add_module(str(i), m)
        self.n = len(body)
        if shortcut is not None:
            self.shortcut = nn.Sequential(*shortcut)
        else:
            self.shortcut = None

    def forward(self, x):
        y = x
        for i in range(self.n):
            y = getattr(self, str(i))(y)
        return y + (self.shortcut(x) if self.shortcut is not None else x)


class Scale(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        return x * self.s


def frozen_bn(c):
    bn = nn.BatchNorm2d(c, eps=1e-12, momentum=0.4)
    bn.weight.requires_grad = False
    return bn


def block_resnet():
    return nn.Sequential(
        Residual(nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                 nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8),
                 shortcut=[nn.Conv2d(4, 8, 1, stride=2), nn.BatchNorm2d(8)]),
        nn.ReLU(),
        Residual(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                 nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5), Scale(0.125))


def block_airbench():
    return nn.Sequential(
        nn.Conv2d(3, 6, 2), nn.GELU(),
        nn.Conv2d(6, 8, 3, padding=1, bias=False), nn.MaxPool2d(2), frozen_bn(8), nn.GELU(),
        nn.Conv2d(8, 8, 3, padding=1, bias=False), frozen_bn(8), nn.GELU(),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8, 5, bias=False), Scale(1 / 9))


def block_misc():
    return nn.Sequential(
        nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.BatchNorm2d(6, affine=False), nn.LeakyReLU(0.1),
        nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6), nn.GELU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 3))


BLOCK_CASES = {
    # name: (builder, x shape)
    "block_resnet": (block_resnet, (6, 4, 8, 8)),
    "block_airbench": (block_airbench, (5, 3, 13, 13)),
    "block_misc": (block_misc, (4, 4, 7, 7)),
}


def make_block(case_seed, name, build, shape):
    """x, init.<state_dict name>, y (train), dy, dx, grad.<trainable parameter>,
    after.<buffer> (running statistics after that forward), y_eval (eval mode, same x)."""
    seed(case_seed)
    model = build()  # default init in float32
    x32 = randn(*shape)
    g = Golden(name)
    g.f32("x", x32)
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            g.f32(f"init.{k}", v)
    model = model.double().train()
    x = leaf64(x32)
    y = model(x)
    dy32 = randn(*y.shape)
    y.backward(dy32.double())
    g.f32("y", y)
    g.f32("dy", dy32)
    g.f32("dx", x.grad)
    for k, p in model.named_parameters():
        if p.requires_grad:
            g.f32(f"grad.{k}", p.grad)
    for k, b in model.named_buffers():
        if not k.endswith("num_batches_tracked"):
            g.f32(f"after.{k}", b)
    with torch.no_grad():
        g.f32("y_eval", model.eval()(x32.double()))
    return g

# ----------------------------------------------------------------------------
def all_cases():
    """(name, builder) in a fixed order; each builder seeds itself."""
    cases = []
    for i, (tag, cfg) in enumerate(CONV_CASES.items()):
        cases.append((f"conv_{tag}", lambda i=i, tag=tag, cfg=cfg: make_conv(100 + i, tag, cfg)))
    for i, (tag, cfg) in enumerate(LINEAR_CASES.items()):
        cases.append((f"linear_{tag}", lambda i=i, tag=tag, cfg=cfg: make_linear(200 + i, tag, cfg)))
    for i, (name, (cls, shape)) in enumerate(BN_CASES.items()):
        cases.append((name, lambda i=i, name=name, cls=cls, shape=shape: make_bn(300 + i, name, cls, shape)))
    cases.append(("relu", lambda: make_relu(400)))
    cases.append(("silu", lambda: make_silu(410)))
    for i, (tag, (k, s, shape)) in enumerate(MAXPOOL_CASES.items()):
        cases.append((f"maxpool_{tag}", lambda i=i, tag=tag, k=k, s=s, shape=shape: make_pool(
            500 + i, f"maxpool_{tag}", nn.MaxPool2d(k, stride=s), k, s, shape)))
    for i, (tag, (k, shape)) in enumerate(AVGPOOL_CASES.items()):
        cases.append((f"avgpool_{tag}", lambda i=i, tag=tag, k=k, shape=shape: make_pool(
            600 + i, f"avgpool_{tag}", nn.AvgPool2d(k), k, k, shape)))
    cases.append(("cross_entropy", lambda: make_cross_entropy(700)))
    for name, mk in OPTIMS.items():
        cases.append((name, lambda name=name, mk=mk: make_optim(name, mk)))
    for i, (name, (build, shape)) in enumerate(BLOCK_CASES.items()):
        cases.append((name, lambda i=i, name=name, build=build, shape=shape: make_block(900 + i, name, build, shape)))
    return cases


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "data"),
                    help="output directory (default: tests/golden/data)")
    ap.add_argument("--only", nargs="*", help="only these case names")
    args = ap.parse_args()

    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    total = 0
    for name, build in all_cases():
        if args.only and name not in args.only:
            continue
        g = build()
        path, size = g.write(args.out)
        total += size
        print(f"{os.path.relpath(path)}: {len(g.items)} tensors, {size} bytes")
    print(f"total {total} bytes (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
