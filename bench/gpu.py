"""W1-W4 on one NVIDIA GPU: graphdl's ``cuda`` backend side by side with PyTorch CUDA.

Both frameworks get the batch as host NumPy arrays on every step (the workloads'
rule) and return the loss to the host, so each step ends with a synchronization.
Prints a Markdown table of medians over rounds (steps/s, or ms per call for W4) and
the ratio graphdl / PyTorch. Run on a machine with a GPU::

    python -m bench.gpu --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import fw_torch
from bench import workloads as W
from bench.fw_graphdl import Impl as GraphdlImpl


class TorchCuda(fw_torch.Impl):
    """PyTorch eager with the model and every step's batch on ``cuda:0``."""

    def __init__(self):
        super().__init__()
        self.name = "torch-cuda"

    def _train(self, model, opt, x, y):
        import torch
        import torch.nn.functional as F

        model.to("cuda")
        opt = type(opt)(model.parameters(), **opt.defaults)

        def step():
            xb, yb = torch.from_numpy(x).to("cuda"), torch.from_numpy(y).to("cuda")
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            return loss.item()

        return step

    def w4(self):
        import torch

        x = W.w4_input()

        def call():
            with torch.no_grad():
                return fw_torch.w4_expression(torch.from_numpy(x).to("cuda")).cpu().numpy()

        return call


def _steps_per_second(step, seconds=2.0, warmup=5):
    for _ in range(warmup):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    return n / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="W1,W2,W3,W4")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per round")
    args = parser.parse_args(argv)
    impls = {"graphdl-cuda": GraphdlImpl(backend="cuda"), "torch-cuda": TorchCuda()}
    rows = []
    for workload in args.workloads.split(","):
        rates = {}
        for name, impl in impls.items():
            try:
                fn = getattr(impl, workload.lower())()
            except W.NotSupported as e:
                rates[name] = None
                print(f"{workload} {name}: {e}", flush=True)
                continue
            first = fn()
            if workload in W.TRAINING:
                print(f"{workload} {name}: first loss {first:.5f}", flush=True)
            rates[name] = statistics.median(_steps_per_second(fn, args.seconds) for _ in range(args.rounds))
        g, t = rates.get("graphdl-cuda"), rates.get("torch-cuda")
        rows.append((workload, g, t, g / t if g and t else None))
    print("\n| workload | graphdl cuda (steps/s) | PyTorch CUDA (steps/s) | graphdl / PyTorch |")
    print("|---|---|---|---|")
    for workload, g, t, ratio in rows:
        def fmt(v):
            return "-" if v is None else f"{v:.1f}"
        print(f"| {workload} | {fmt(g)} | {fmt(t)} | {'-' if ratio is None else f'{ratio:.2f}x'} |")


if __name__ == "__main__":
    main()
