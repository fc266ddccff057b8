#!/usr/bin/python3
"""Conv GFLOP/s next to Eigen GEMM GFLOP/s of the same sizes: what fraction of GEMM peak ctnn's convs reach.

    /usr/bin/python3 bench/gemm_fraction.py --build-dir BUILD/bench [--net resnet9|seed] [--batch 128]
                                            [--threads 2] [--repetitions 3] [--min-time 0.2] [--json FILE]

Runs bench_layers (conv/fwd, conv/bwd, gemm/fwd, gemm/wgrad, gemm/igrad for the network's conv shapes
at that batch, and gemm/square) with OMP_NUM_THREADS = threads and --benchmark_repetitions, keeps
the best repetition of each (repetitions are randomly interleaved across benchmarks, so a burst of
other work on a shared machine spoils a few repetitions of several cases rather than all of one;
the best is the least disturbed; also shown is how much of
the wall time the main thread was on a CPU, which is ~100% when nothing else competes), and prints:
  forward:  conv/fwd vs the batched forward GEMM (M=Cout, K=Cin*K*K, N=Ho*Wo*batch)
  backward: conv/bwd vs the weight-gradient and input-gradient GEMMs together (the rate of doing
            both: total FLOPs over total time)
  and each conv rate as a fraction of the faster square sgemm (1024 or 2048: Eigen's peak here).
"""
import argparse
import json
import os
import subprocess
import sys

SHAPES = {
    "resnet9": ["3to64_k3_32x32", "64to128_k3_32x32", "128to128_k3_16x16", "128to256_k3_16x16",
                "256to512_k3_8x8", "512to512_k3_4x4"],
    "seed": ["3to16_k5_32x32", "16to32_k5_16x16"],
}


def main():
    ap = argparse.ArgumentParser(description="conv vs Eigen GEMM GFLOP/s")
    ap.add_argument("--build-dir", help="folder holding bench_layers (BUILD/bench)")
    ap.add_argument("--from-json", nargs="+", metavar="FILE",
                    help="do not run: merge these saved bench_layers JSON outputs (e.g. chunks run separately)")
    ap.add_argument("--net", default="resnet9", choices=sorted(SHAPES))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--json", help="save the raw Google Benchmark JSON here")
    args = ap.parse_args()

    if args.from_json:
        rows = []
        for path in args.from_json:
            with open(path) as f:
                rows += json.load(f)["benchmarks"]
    else:
        if not args.build_dir:
            sys.exit("give --build-dir (or --from-json)")
        filt = f"^(conv/(fwd|bwd)|gemm/(fwd|wgrad|igrad))/{args.net}/.*/batch:{args.batch}/|^gemm/square/"
        cmd = [os.path.join(args.build_dir, "bench_layers"), f"--benchmark_filter={filt}", "--benchmark_format=json",
               f"--benchmark_repetitions={args.repetitions}", f"--benchmark_min_time={args.min_time}",
               "--benchmark_enable_random_interleaving=true"]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            sys.exit(f"bench_layers failed:\n{res.stderr}")
        data = json.loads(res.stdout)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(data, f, indent=1)
        rows = data["benchmarks"]

    best = {}
    reps = {}
    for b in rows:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].removesuffix("/real_time")
        reps[name] = reps.get(name, 0) + 1
        if name not in best or b["GFLOP/s"] > best[name]["GFLOP/s"]:
            best[name] = b

    def rate(name):
        return best[name]["GFLOP/s"] if name in best else float("nan")

    def on_cpu(name):
        b = best.get(name)
        return 100.0 * b["cpu_time"] / b["real_time"] if b else float("nan")

    peak = max(rate("gemm/square/1024"), rate("gemm/square/2048"))
    n_reps = max(reps.values()) if reps else 0
    print(f"{args.net}, batch {args.batch}, {args.threads} threads, best of {n_reps} repetitions; "
          f"Eigen sgemm 1024^3: {rate('gemm/square/1024'):.1f}, 2048^3: {rate('gemm/square/2048'):.1f} GFLOP/s\n")
    print("| conv | fwd GFLOP/s | GEMM fwd | fwd / GEMM | fwd / sgemm peak | bwd GFLOP/s | GEMM wgrad | GEMM igrad "
          "| GEMM w+i | bwd / GEMM w+i | bwd / sgemm peak | main thread on CPU fwd / bwd |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape in SHAPES[args.net]:
        tail = f"{args.net}/{shape}/batch:{args.batch}"
        cf, cb = rate(f"conv/fwd/{tail}"), rate(f"conv/bwd/{tail}")
        gf, gw, gi = rate(f"gemm/fwd/{tail}"), rate(f"gemm/wgrad/{tail}"), rate(f"gemm/igrad/{tail}")
        gwi = 2.0 / (1.0 / gw + 1.0 / gi)  # equal FLOPs each: total FLOPs over total time
        print(f"| {shape} | {cf:.1f} | {gf:.1f} | {cf / gf:.2f} | {cf / peak:.2f} | {cb:.1f} | {gw:.1f} | {gi:.1f} | "
              f"{gwi:.1f} | {cb / gwi:.2f} | {cb / peak:.2f} | {on_cpu(f'conv/fwd/{tail}'):.0f}% / "
              f"{on_cpu(f'conv/bwd/{tail}'):.0f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
