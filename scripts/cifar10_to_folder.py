#!/usr/bin/python3
"""Writes a CIFAR-10 binary split out as an image folder, root/<class>/<index>.png, the layout
torchvision's ImageFolder and ctnn::io::load_image_folder read (developer side: the checks and
load-time figures of docs/image_folder.md; numpy and OpenCV, Debian python3-numpy python3-opencv).

  scripts/cifar10_to_folder.py data/cifar-10-batches-bin test  /tmp/cifar-test-png
  scripts/cifar10_to_folder.py data/cifar-10-batches-bin train /tmp/cifar-train-png
  scripts/cifar10_to_folder.py data/cifar-10-batches-bin train /tmp/cifar-256-jpeg --format jpeg --size 256 --limit 5000

PNG is lossless: the files hold the binary records' pixels exactly, so the folder read back must
give the same pixels and labels. --size N enlarges the images to N x N (OpenCV's bilinear) and
--format jpeg writes JPEGs (quality 90): a stand-in for a folder of photos, for load timings.
Files are named by the record's index in the split (00000.png ...), the class folder by its
name in batches.meta.txt. The output folder must not exist yet.
"""
import argparse
import os
import sys

import cv2
import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_split(data_dir, split):
    names = ["test_batch.bin"] if split == "test" else ["data_batch_%d.bin" % i for i in range(1, 6)]
    records = []
    for n in names:
        raw = np.fromfile(os.path.join(data_dir, n), dtype=np.uint8)
        if raw.size % 3073 != 0:
            sys.exit("error: %s is not a whole number of 3073-byte records" % n)
        records.append(raw.reshape(-1, 3073))
    r = np.concatenate(records)
    return r[:, 0], r[:, 1:].reshape(-1, 3, 32, 32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("split", choices=["train", "test"])
    ap.add_argument("out")
    ap.add_argument("--format", choices=["png", "jpeg"], default="png")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    if os.path.exists(a.out):
        sys.exit("error: %s exists already" % a.out)
    labels, images = read_split(a.data_dir, a.split)
    if a.limit:
        labels, images = labels[: a.limit], images[: a.limit]
    if labels.max() >= len(CLASSES):
        sys.exit("error: a label above 9")
    for c in CLASSES:
        os.makedirs(os.path.join(a.out, c))
    ext = ".png" if a.format == "png" else ".jpg"
    params = [cv2.IMWRITE_PNG_COMPRESSION, 6] if a.format == "png" else [cv2.IMWRITE_JPEG_QUALITY, 90]
    for i, (label, chw) in enumerate(zip(labels, images)):
        bgr = np.ascontiguousarray(chw.transpose(1, 2, 0)[:, :, ::-1])  # OpenCV writes BGR
        if a.size != 32:
            bgr = cv2.resize(bgr, (a.size, a.size), interpolation=cv2.INTER_LINEAR)
        path = os.path.join(a.out, CLASSES[label], "%05d%s" % (i, ext))
        if not cv2.imwrite(path, bgr, params):
            sys.exit("error: could not write " + path)
    print("%d images written to %s (%s, %dx%d)" % (len(labels), a.out, a.format, a.size, a.size))


if __name__ == "__main__":
    main()
