#!/usr/bin/python3
"""Cross-check ctnn's safetensors files against PyTorch (developer side; CI runs only the C++).

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 tests/io/cross_check.py

1. ctnn -> torch: reads tests/io/data/seed_cifar10.safetensors (written by
   `train_cifar10 --save`, ctnn names), checks it with a reader that applies the reference
   implementation's validation rules, renames ctnn's "<layer>.<tensor>" to the equivalent
   torch.nn.Sequential's names (an nn.Flatten before the Linear shifts its index: "8.weight" ->
   "9.weight"), loads it with load_state_dict(strict=True), and computes the logits of the first
   N CIFAR-10 test images (normalised as in training, float32 exactly as ctnn does) in float64.
2. torch -> ctnn: builds a small torch.nn.Sequential (Conv2d, BatchNorm2d, ReLU, MaxPool2d,
   Flatten, Linear, BatchNorm1d, ReLU, Dropout, Linear), trains its BatchNorm statistics on
   random batches, writes its state_dict in the reference layout (tensors sorted by dtype
   alignment then name, as safetensors.torch.save_file does) to tests/io/data/torch_tiny.safetensors,
   and records inputs and float64 logits.

Results go to tests/io/data/cross_check.ctv (the golden-vector format, tests/support/golden.hpp),
which tests/unit/test_safetensors.cpp compares against ctnn's own outputs, so CI checks the C++
side without Python. Debian 12 has no python3-safetensors package, so the format is read and
written here with struct + json (the layout is small: 8-byte little-endian header length, JSON
header, raw little-endian data).

Options: --cifar DIR (default data/cifar-10-batches-bin), --n N (default 1000 images),
--out DIR (default tests/io/data). The output is reproducible (byte-identical on a rerun).
"""

import argparse
import json
import os
import struct
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# ---- safetensors, as the reference implementation (huggingface/safetensors) defines it ----

DTYPES = {  # name -> (numpy dtype, element size)
    "BOOL": ("?", 1), "U8": ("<u1", 1), "I8": ("<i1", 1), "I16": ("<i2", 2), "U16": ("<u2", 2),
    "F16": ("<f2", 2), "I32": ("<i4", 4), "U32": ("<u4", 4), "F32": ("<f4", 4), "F64": ("<f8", 8),
    "I64": ("<i8", 8), "U64": ("<u8", 8),
}
TORCH_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
                torch.uint8: "U8", torch.float16: "F16", torch.bool: "BOOL"}


def read_safetensors(path):
    """Returns (tensors: name -> np.ndarray, metadata). Validates as safetensors' Rust code does:
    header size limit, header starts with '{', dtype and shape consistent with data_offsets,
    tensors tiling the data section exactly."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > 100_000_000 or 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} invalid for a {len(raw)}-byte file")
    text = raw[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError(f"{path}: header does not start with '{{'")
    header = json.loads(text)
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError(f"{path}: __metadata__ must map strings to strings")
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    at = 0
    tensors = {}
    for name, e in entries:
        dtype, size = DTYPES[e["dtype"]]
        shape = tuple(int(d) for d in e["shape"])
        begin, end = e["data_offsets"]
        if begin != at:
            raise ValueError(f"{path}: tensor {name!r} starts at {begin}, expected {at} (gap or overlap)")
        if end - begin != int(np.prod(shape, dtype=np.int64)) * size:
            raise ValueError(f"{path}: tensor {name!r}: data_offsets do not match dtype and shape")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).copy()
        at = end
    if at != len(data):
        raise ValueError(f"{path}: tensors cover {at} of {len(data)} data bytes")
    return tensors, metadata


def write_safetensors(path, state_dict, metadata=None):
    """Writes like safetensors.torch.save_file: tensors ordered by dtype alignment (largest
    first) then name, compact JSON header padded with spaces to a multiple of 8."""
    items = sorted(state_dict.items(),
                   key=lambda kv: (-DTYPES[TORCH_DTYPES[kv[1].dtype]][1], kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    at = 0
    for name, t in items:
        dt = TORCH_DTYPES[t.dtype]
        b = t.detach().cpu().contiguous().numpy().astype(DTYPES[dt][0], copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---- ctnn's golden-vector format (.ctv), as tests/golden/make_golden.py writes it ----------

def write_ctv(path, items):
    out = bytearray(b"CTNNGOLD" + struct.pack("<II", 1, len(items)))
    for name, arr in items:
        dtype = 0 if arr.dtype.kind == "f" else 1
        arr = np.asarray(arr, dtype="<f4" if dtype == 0 else "<i4")
        nb = name.encode("utf-8")
        out += struct.pack("<I", len(nb)) + nb + struct.pack("<II", dtype, arr.ndim)
        for d in arr.shape:
            out += struct.pack("<q", d)
        out += arr.tobytes(order="C")
    with open(path, "wb") as f:
        f.write(bytes(out))
    return len(out)


# ---- names --------------------------------------------------------------------------------

def ctnn_to_torch_names(names, flatten_index):
    """ctnn "<i>.<tensor>" -> torch: layers from the inserted Flatten on move one index up."""
    out = {}
    for n in names:
        i, rest = n.split(".", 1)
        i = int(i)
        out[n] = f"{i + 1 if i >= flatten_index else i}.{rest}"
    return out


def seed_torch():
    # ctnn: Conv<3,16,5> BatchNorm ReLU MaxPool<2> Conv<16,32,5> BatchNorm ReLU MaxPool<2> Linear<10>
    return nn.Sequential(
        nn.Conv2d(3, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, 10))


def tiny_torch():
    # ctnn: Input<3,16,16>, Conv<3,8,3>, BatchNorm, ReLU, MaxPool<2>, Linear<16>, BatchNorm, ReLU,
    #       Dropout<0.25>, Linear<10>
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 10))


MEANS = {"cifar": (0.4914, 0.4822, 0.4465), "half": (0.5, 0.5, 0.5)}
STDS = {"cifar": (0.2470, 0.2435, 0.2616), "half": (0.5, 0.5, 0.5)}


def cifar_test_images(cifar_dir, n, normalize):
    raw = np.fromfile(os.path.join(cifar_dir, "test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)[:n]
    labels = raw[:, 0].astype(np.int32)
    x = raw[:, 1:].reshape(n, 3, 32, 32).astype(np.float32) / np.float32(255)  # ToTensor, in float32
    mean = np.array(MEANS[normalize], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(STDS[normalize], dtype=np.float32).reshape(1, 3, 1, 1)
    return (x - mean) / std, labels  # Normalize, in float32 (as torchvision and ctnn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cifar", default=os.path.join(REPO, "data", "cifar-10-batches-bin"))
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    items = []

    # 1. ctnn -> torch
    path = os.path.join(args.out, "seed_cifar10.safetensors")
    tensors, meta = read_safetensors(path)
    model = seed_torch()
    names = ctnn_to_torch_names(tensors.keys(), flatten_index=8)
    if set(names.values()) != set(model.state_dict().keys()):
        sys.exit(f"names differ: ctnn->torch {sorted(names.values())} vs torch {sorted(model.state_dict())}")
    model.load_state_dict({names[k]: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    model.eval()
    x, labels = cifar_test_images(args.cifar, args.n, meta.get("ctnn.normalize", "cifar"))
    with torch.no_grad():
        logits32 = model(torch.from_numpy(x)).numpy()
        logits64 = model.double()(torch.from_numpy(x).double()).numpy()
    acc = float((logits64.argmax(1) == labels).mean())
    d32 = float(np.abs(logits32 - logits64).max())
    print(f"ctnn -> torch: {path} ({meta.get('ctnn.model')}, normalize {meta.get('ctnn.normalize')}) "
          f"loaded strictly into torch.nn.Sequential; {args.n} CIFAR-10 test images: accuracy {acc:.4f}, "
          f"logits in [{logits64.min():.3f}, {logits64.max():.3f}], torch float32 vs float64 max |diff| {d32:.3e}")
    items += [("seed.labels", labels), ("seed.logits", logits64.astype(np.float64)),
              ("seed.torch32_max_abs", np.array(d32)), ("seed.accuracy", np.array(acc))]

    # 2. torch -> ctnn
    torch.manual_seed(0)
    tiny = tiny_torch()
    tiny.train()
    with torch.no_grad():
        for _ in range(5):  # move the BatchNorm statistics away from 0 / 1
            tiny(torch.randn(16, 3, 16, 16) * 2 + 0.5)
    tiny.eval()
    tiny_path = os.path.join(args.out, "torch_tiny.safetensors")
    write_safetensors(tiny_path, tiny.state_dict())
    xt = torch.randn(8, 3, 16, 16)
    with torch.no_grad():
        tl = tiny.double()(xt.double()).numpy()
    # The file reads back as written.
    back, _ = read_safetensors(tiny_path)
    for k, v in tiny.state_dict().items():
        assert np.array_equal(back[k], v.float().numpy() if v.is_floating_point() else v.numpy()), k
    print(f"torch -> ctnn: {tiny_path}: {len(back)} tensors ({', '.join(sorted(back))}), "
          f"num_batches_tracked {int(back['1.num_batches_tracked'])}")
    items += [("tiny.x", xt.numpy()), ("tiny.logits", tl)]

    ctv = os.path.join(args.out, "cross_check.ctv")
    size = write_ctv(ctv, [(n, np.asarray(a)) for n, a in items])
    print(f"wrote {ctv} ({size} bytes)")


if __name__ == "__main__":
    main()
