#!/usr/bin/python3
"""Golden vectors for ctnn's CIFAR-10 transforms, made with torchvision on PIL images.

    /usr/bin/python3 tests/golden/make_transform_golden.py [--sample PATH] [--out DIR]

(Debian's /usr/bin/python3 with python3-torchvision; PATH's python3 may lack torch.)

Reads a few records of the CIFAR-10 sample (test_batch_head.bin, the first 500 test
records), turns each into a 32x32 RGB PIL image exactly as torchvision.datasets.CIFAR10 does,
and stores what torchvision produces:

transform_pad_resize.ctv
  indices        i32 [N]          record numbers in the sample
  input          i32 [N,3,32,32]  the raw pixels (0..255)
  pad_resize_u8  i32 [N,3,32,32]  Pad(4) then Resize(32) (PIL bilinear), still uint8
  to_tensor      f32 [N,3,32,32]  ToTensor() of the raw image
  half           f32 [N,3,32,32]  Compose([Pad(4), Resize(32), ToTensor(), Normalize((.5,)*3, (.5,)*3)])
  cifar10        f32 [N,3,32,32]  same with Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))

transform_resize.ctv (other Resize geometries, on the first M of those images)
  input          i32 [M,3,32,32]
  resize_48_u8   i32 [M,3,48,48]  Resize(48)        (upscaling: plain triangle filter)
  resize_24_u8   i32 [M,3,24,24]  Resize(24)        (downscaling by 4/3)
  resize_20x28_u8 i32 [M,3,20,28] Resize((20, 28))  (different factors per axis)
  resize_32x13_u8 i32 [M,3,32,13] Resize((32, 13))  (one axis only: Pillow skips the other pass)
  center_crop_u8 i32 [M,3,24,24]  CenterCrop(24)

File format (little-endian): "CTNNGOLD", uint32 version 1, uint32 tensor count, then per tensor
uint32 name length, name, uint32 dtype (0 f32, 1 i32), uint32 ndim, int64 dims, raw data.
"""

import argparse
import os
import struct
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
# The records are read from the unpacked test batch (scripts/get-cifar10.sh); only the first 500
# are used, the same records as the unit tests' sample (tests/support/data.hpp).
DEFAULT_SAMPLE = os.path.join(HERE, "..", "..", "data", "cifar-10-batches-bin", "test_batch.bin")
RECORD = 1 + 3 * 32 * 32
INDICES = [0, 7, 123, 499]  # a cat, a horse, ..., the last record of the sample
M = 2

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def write_ctv(path, tensors):
    with open(path, "wb") as f:
        f.write(b"CTNNGOLD")
        f.write(struct.pack("<II", 1, len(tensors)))
        for name, arr in tensors:
            arr = np.ascontiguousarray(arr)
            if arr.dtype == np.float32:
                dtype, data = 0, arr.astype("<f4")
            elif arr.dtype in (np.int32, np.int64, np.uint8):
                dtype, data = 1, arr.astype("<i4")
            else:
                raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
            raw = name.encode("utf-8")
            f.write(struct.pack("<I", len(raw)) + raw)
            f.write(struct.pack("<II", dtype, arr.ndim))
            f.write(struct.pack(f"<{arr.ndim}q", *arr.shape))
            f.write(data.tobytes())
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def load_records(path, indices):
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % RECORD:
        sys.exit(f"{path}: {raw.size} bytes is not a whole number of {RECORD}-byte records")
    recs = raw.reshape(-1, RECORD)
    return recs[indices, 1:].reshape(-1, 3, 32, 32)


def pil(chw):
    # torchvision.datasets.CIFAR10: data (N,32,32,3) uint8 -> Image.fromarray(img)
    return Image.fromarray(np.ascontiguousarray(chw.transpose(1, 2, 0)))


def u8(img):
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", default=os.path.join(os.environ["CTNN_CIFAR10_DIR"], "test_batch.bin")
                    if os.environ.get("CTNN_CIFAR10_DIR") else DEFAULT_SAMPLE,
                    help="a CIFAR-10 binary batch whose first 500 records are read (default: data/ test_batch.bin)")
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"Pillow {Image.__version__ if hasattr(Image, '__version__') else '?'}")

    images = load_records(args.sample, INDICES)
    pad_resize = T.Compose([T.Pad(4), T.Resize(32)])
    half = T.Compose([T.Pad(4), T.Resize(32), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    cifar = T.Compose([T.Pad(4), T.Resize(32), T.ToTensor(), T.Normalize(CIFAR10_MEAN, CIFAR10_STD)])

    write_ctv(os.path.join(args.out, "transform_pad_resize.ctv"), [
        ("indices", np.array(INDICES, dtype=np.int32)),
        ("input", images.astype(np.int32)),
        ("pad_resize_u8", np.stack([u8(pad_resize(pil(im))) for im in images])),
        ("to_tensor", torch.stack([T.ToTensor()(pil(im)) for im in images]).numpy()),
        ("half", torch.stack([half(pil(im)) for im in images]).numpy()),
        ("cifar10", torch.stack([cifar(pil(im)) for im in images]).numpy()),
    ])

    few = images[:M]
    write_ctv(os.path.join(args.out, "transform_resize.ctv"), [
        ("input", few.astype(np.int32)),
        ("resize_48_u8", np.stack([u8(T.Resize(48)(pil(im))) for im in few])),
        ("resize_24_u8", np.stack([u8(T.Resize(24)(pil(im))) for im in few])),
        ("resize_20x28_u8", np.stack([u8(T.Resize((20, 28))(pil(im))) for im in few])),
        ("resize_32x13_u8", np.stack([u8(T.Resize((32, 13))(pil(im))) for im in few])),
        ("center_crop_u8", np.stack([u8(T.CenterCrop(24)(pil(im))) for im in few])),
    ])


if __name__ == "__main__":
    main()
