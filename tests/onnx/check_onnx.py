#!/usr/bin/env python3
"""Checks an ONNX file written by ctnn (io::save_onnx) in real ONNX consumers.

  check_onnx.py MODEL.onnx --expect LOGITS.txt --records FILE.bin --count 16   # CIFAR-10 / FER2013 records
  check_onnx.py MODEL.onnx --expect LOGITS.txt --floats INPUT.bin               # float32 pixels / 255, NCHW

1. onnx.checker.check_model(full_check=True) (structure, opset, shape inference), and the
   graph's contract: input [N, C, H, W] with N dynamic, output [N, classes], producer "ctnn",
   metadata "ctnn.normalize.mean", ".std", "ctnn.input", classes matching the output size.
2. Runs the images (raw pixels / 255) through OpenCV's dnn module, as a batch and the first
   image alone, and through ONNX Runtime (onnxruntime-node) too when --ort-dir holds it, or
   instead of OpenCV where OpenCV cannot import the model (then ONNX Runtime is required).
3. Compares each consumer's logits with ctnn's (LOGITS.txt: lines "logits NAME z0 z1 ...", as
   predict --logits prints them): per image max|onnx - ctnn| / max|ctnn|, at most --tolerance.

Exits 0 when every check passes, 1 when one fails, 77 (CTest: skipped) when a Python module is
missing.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    import cv2
except ImportError as e:
    print(f"SKIP: the Python module '{e.name}' is missing; Debian: apt-get install python3-onnx python3-opencv "
          "python3-numpy")
    sys.exit(77)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def dims(value_info):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check_structure(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    if len(g.input) != 1 or len(g.output) != 1:
        fail(f"{path}: expected one input and one output, got {len(g.input)} and {len(g.output)}")
    shape_in, shape_out = dims(g.input[0]), dims(g.output[0])
    if len(shape_in) != 4 or shape_in[0] != "N" or len(shape_out) != 2 or shape_out[0] != "N":
        fail(f"{path}: input {shape_in} / output {shape_out}, expected [N, C, H, W] / [N, classes]")
    meta = {p.key: p.value for p in model.metadata_props}
    for key in ("ctnn.normalize.mean", "ctnn.normalize.std", "ctnn.input"):
        if key not in meta:
            fail(f"{path}: no metadata '{key}'")
    if len(meta["ctnn.normalize.mean"].split(",")) != shape_in[1]:
        fail(f"{path}: ctnn.normalize.mean {meta['ctnn.normalize.mean']} for {shape_in[1]} channels")
    if "ctnn.classes" in meta and len(meta["ctnn.classes"].split(",")) != shape_out[1]:
        fail(f"{path}: ctnn.classes '{meta['ctnn.classes']}' for {shape_out[1]} outputs")
    if model.producer_name != "ctnn" or model.opset_import[0].version != 17:
        fail(f"{path}: producer '{model.producer_name}', opset {model.opset_import[0].version}")
    ops = [n.op_type for n in g.node]
    print(f"checker: ok (full_check), opset 17, {len(ops)} nodes: {' '.join(sorted(set(ops)))}; "
          f"input {shape_in}, output {shape_out}, model '{meta.get('ctnn.model', '')}'")
    return shape_in[1:], shape_out[1]


def read_inputs(args, chw):
    c, h, w = chw
    if args.floats:
        x = np.fromfile(args.floats, dtype="<f4")
        return x.reshape(-1, c, h, w)
    record = 1 + c * h * w
    raw = np.fromfile(args.records, dtype=np.uint8, count=args.count * record)
    if raw.size != args.count * record:
        fail(f"{args.records} holds fewer than {args.count} records of {record} bytes")
    pixels = raw.reshape(args.count, record)[:, 1:].reshape(args.count, c, h, w)
    return pixels.astype(np.float32) / np.float32(255)  # as ctnn's ToTensor: float(v) / 255.0f


def read_logits(path, n, k):
    rows = [line.split()[2:] for line in open(path) if line.startswith("logits ")]
    z = np.array(rows, dtype=np.float64)
    if z.shape != (n, k):
        fail(f"{path}: {z.shape[0]} rows of logits, expected {n} rows of {k}")
    return z


def run_opencv(path, x):
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(x)
    batch = net.forward().copy()
    net.setInput(x[:1])  # the batch dimension is dynamic
    single = net.forward().copy()
    return batch, single


def run_ort(path, x, ort_dir):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run_ort.js")
    with tempfile.TemporaryDirectory() as tmp:
        xin = os.path.join(tmp, "x.bin")
        np.ascontiguousarray(x, dtype="<f4").tofile(xin)
        env = dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules"))
        out = subprocess.run(["node", script, path, xin, json.dumps(list(x.shape))], env=env, capture_output=True,
                             text=True)
        if out.returncode != 0:
            fail(f"ONNX Runtime could not run {path}: {out.stderr.strip()}")
        y = np.array(json.loads(out.stdout), dtype=np.float64)
    return y, y[:1]


def compare(name, y, expect, tol):
    y = np.asarray(y, dtype=np.float64).reshape(expect.shape)
    scale = np.maximum(np.abs(expect).max(axis=1), 1e-30)
    rel = np.abs(y - expect).max(axis=1) / scale
    worst = int(rel.argmax())
    agree = int((y.argmax(axis=1) == expect.argmax(axis=1)).sum())
    print(f"{name}: max relative error {rel.max():.3e} (image {worst}) over {len(rel)} images, tolerance {tol:g}; "
          f"arg-max agrees on {agree}/{len(rel)}")
    if not rel.max() <= tol:
        fail(f"{name}: image {worst}: onnx {y[worst].tolist()} vs ctnn {expect[worst].tolist()}")
    return rel.max()


def ort_available(ort_dir):
    return bool(ort_dir) and os.path.isdir(os.path.join(ort_dir, "node_modules", "onnxruntime-node"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--expect", required=True, help="ctnn's logits (predict --logits)")
    p.add_argument("--records", help="CIFAR-10 / FER2013 binary: 1 label byte, then C*H*W pixels per record")
    p.add_argument("--count", type=int, default=16)
    p.add_argument("--floats", help="float32 NCHW inputs in [0, 1]")
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--ort-dir", help="folder holding node_modules/onnxruntime-node")
    args = p.parse_args()
    if bool(args.records) == bool(args.floats):
        fail("give --records or --floats")

    chw, k = check_structure(args.model)
    x = read_inputs(args, chw)
    expect = read_logits(args.expect, x.shape[0], k)
    consumers = []
    try:
        consumers.append(("opencv " + cv2.__version__, run_opencv(args.model, x)))
    except cv2.error as e:
        reason = str(e).strip().splitlines()[-1]
        if not ort_available(args.ort_dir):
            fail(f"OpenCV {cv2.__version__} cannot run {args.model} ({reason}) and ONNX Runtime is not installed "
                 f"(npm install --prefix {args.ort_dir or 'DIR'} onnxruntime-node)")
        print(f"opencv {cv2.__version__}: cannot run it ({reason}); checking with ONNX Runtime instead")
    if ort_available(args.ort_dir):
        consumers.append(("onnxruntime-node", run_ort(args.model, x, args.ort_dir)))
    for name, (batch, single) in consumers:
        compare(f"{name}, batch of {x.shape[0]}", batch, expect, args.tolerance)
        compare(f"{name}, batch of 1", single, expect[:1], args.tolerance)
    print("ok: " + ", ".join(name for name, _ in consumers) + " match ctnn")


if __name__ == "__main__":
    main()
