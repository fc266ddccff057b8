#!/usr/bin/python3
"""The coursework's own program, as a PyTorch user writes it: the seed CNN on CIFAR-10.

    /usr/bin/python3 bench/coursework_pytorch.py [--data DIR] [--bin-source PATH] [--epochs 5]
                                                 [--batch-size 32] [--workers 2] [--threads N]

torchvision.datasets.CIFAR10 reads the *python* release (DIR/cifar-10-batches-py/data_batch_1..5,
test_batch, batches.meta). This machine only has the *binary* release (cifar-10-binary.tar.xz or
an unpacked cifar-10-batches-bin/), so the first run converts it: each pickled batch is a dict
with b'data' (uint8 [10000, 3072], the same bytes as the .bin records minus the label byte) and
b'labels' (a list of ints), plus the same entries under str keys, which is how torchvision
reads them (pickle.load(..., encoding="latin1") turns the official Python 2 keys into str).
The converted files cannot have the official MD5s (the official pickles also hold file names
that the binary release lacks), so the dataset class below unsets torchvision's MD5s (its check then
becomes "all files present"); everything else is torchvision's own code path.

Training follows the classic PyTorch CIFAR-10 tutorial: DataLoader(batch_size=32, shuffle=True,
num_workers=2), CrossEntropyLoss, here Adam(lr=1e-3), 5 epochs; per epoch it prints the train
loss/accuracy, the test loss/accuracy and the wall time, and at the end the total wall time.
The thread count is PyTorch's default unless --threads is given (torch.get_num_threads() is
printed; on this 2-core VM, Debian's torch 1.13 defaults to 1 thread).
"""
import argparse
import os
import pickle
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as transforms

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BIN_SOURCES = [
    os.path.join(REPO, "data", "cifar-10-batches-bin"),
    os.path.join(REPO, "..", "shared", "data", "cifar-10-binary.tar.xz"),
    "/work/shared/data/cifar-10-binary.tar.xz",
]
BIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
RECORD = 1 + 3072


def read_bin_batches(source):
    """{name.bin: bytes} for the six batches, from a cifar-10-batches-bin folder or the .tar.xz."""
    out = {}
    if os.path.isdir(source):
        for name in BIN_FILES:
            with open(os.path.join(source, name), "rb") as f:
                out[name] = f.read()
        return out
    with tarfile.open(source, "r:*") as tar:
        for member in tar.getmembers():
            base = os.path.basename(member.name)
            if base in BIN_FILES:
                out[base] = tar.extractfile(member).read()
    missing = [n for n in BIN_FILES if n not in out]
    if missing:
        raise SystemExit(f"{source}: missing {', '.join(missing)}")
    return out


def convert_binary_to_python(source, dest):
    """Writes dest/cifar-10-batches-py in the python-pickle layout from the binary release."""
    os.makedirs(dest, exist_ok=True)
    batches = read_bin_batches(source)
    for name, raw in batches.items():
        if len(raw) != 10000 * RECORD:
            raise SystemExit(f"{source}/{name}: {len(raw)} bytes, expected {10000 * RECORD}")
        rec = np.frombuffer(raw, dtype=np.uint8).reshape(10000, RECORD)
        labels = [int(v) for v in rec[:, 0]]
        data = np.ascontiguousarray(rec[:, 1:])  # R plane, G plane, B plane: the python layout too
        stem = name[:-4]
        label = ("training batch %s of 5" % stem[-1]) if stem.startswith("data") else "testing batch 1 of 1"
        entry = {}
        for key, value in (("batch_label", label), ("labels", labels), ("data", data)):
            entry[key] = value                  # what torchvision reads (encoding="latin1")
            entry[key.encode()] = value         # what encoding="bytes" readers (CS231n style) read
        tmp = os.path.join(dest, stem + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(entry, f, protocol=2)
        os.replace(tmp, os.path.join(dest, stem))
    meta = {"label_names": CLASSES, b"label_names": [c.encode() for c in CLASSES],
            "num_cases_per_batch": 10000, b"num_cases_per_batch": 10000,
            "num_vis": 3072, b"num_vis": 3072}
    with open(os.path.join(dest, "batches.meta"), "wb") as f:
        pickle.dump(meta, f, protocol=2)


class CIFAR10(torchvision.datasets.CIFAR10):
    """torchvision's CIFAR10 with its MD5s unset (converted files, see the docstring): torchvision's
    check_integrity() then only checks that each file exists."""

    train_list = [[name, None] for name, _ in torchvision.datasets.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in torchvision.datasets.CIFAR10.test_list]
    meta = {**torchvision.datasets.CIFAR10.meta, "md5": None}


def seed_net():
    return nn.Sequential(
        nn.Conv2d(3, 16, 5, padding=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(2048, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                   "ctnn-bench", "cifar10"),
                    help="folder holding (or to receive) cifar-10-batches-py")
    ap.add_argument("--bin-source", default=None,
                    help="cifar-10-batches-bin folder or cifar-10-binary.tar.xz to convert from "
                         "(default: the repo's data/ folder, else shared/data's archive)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader num_workers (the tutorial's 2)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: PyTorch's default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    py_dir = os.path.join(args.data, "cifar-10-batches-py")
    needed = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
    if not all(os.path.isfile(os.path.join(py_dir, n)) for n in needed):
        sources = [args.bin_source] if args.bin_source else DEFAULT_BIN_SOURCES
        source = next((s for s in sources if s and os.path.exists(s)), None)
        if source is None:
            raise SystemExit("no CIFAR-10 binary release found; pass --bin-source")
        t = time.perf_counter()
        convert_binary_to_python(source, py_dir)
        print(f"converted {source} -> {py_dir} in {time.perf_counter() - t:.1f} s", flush=True)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch_size}, "
          f"num_workers {args.workers}, epochs {args.epochs}", flush=True)

    t_start = time.perf_counter()
    transform_train = transforms.Compose([
        transforms.Pad(4), transforms.Resize(32), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    transform_test = transforms.Compose([
        transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    trainset = CIFAR10(root=args.data, train=True, download=False, transform=transform_train)
    testset = CIFAR10(root=args.data, train=False, download=False, transform=transform_test)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=args.batch_size, shuffle=True,
                                              num_workers=args.workers)
    testloader = torch.utils.data.DataLoader(testset, batch_size=args.batch_size, shuffle=False,
                                             num_workers=args.workers)

    net = seed_net()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for inputs, labels in trainloader:
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * labels.size(0)
            correct += (outputs.argmax(1) == labels).sum().item()
            seen += labels.size(0)
        t_train = time.perf_counter() - t0
        net.eval()
        test_loss, test_correct, test_seen = 0.0, 0, 0
        with torch.no_grad():
            for inputs, labels in testloader:
                outputs = net(inputs)
                test_loss += criterion(outputs, labels).item() * labels.size(0)
                test_correct += (outputs.argmax(1) == labels).sum().item()
                test_seen += labels.size(0)
        t_epoch = time.perf_counter() - t0
        print(f"epoch {epoch + 1}/{args.epochs}: train loss {loss_sum / seen:.4f} acc {100.0 * correct / seen:.2f}% | "
              f"test loss {test_loss / test_seen:.4f} acc {100.0 * test_correct / test_seen:.2f}% | "
              f"{t_epoch:.1f} s (train {t_train:.1f} s, {seen / t_train:.0f} img/s)", flush=True)
    total = time.perf_counter() - t_start
    print(f"total wall time {total:.1f} s; final test accuracy {100.0 * test_correct / test_seen:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
