"""Benchmark: one observation through a 5-member ensemble of 256-256 MLPs (batch 1).

  ./dev.sh shell, then: python bench/ensemble_inference.py

Compares the policy node's path (numpy, one batched matmul per layer over stacked
weights) with a Python loop over members (numpy and torch), torch.vmap over members and
torch bmm over stacked weights. Prints the median and p99 in microseconds.
"""

from __future__ import annotations

import time

import numpy as np


def timeit(fn, repeats=5000, warmup=200):
    for _ in range(warmup):
        fn()
    samples = np.empty(repeats)
    for i in range(repeats):
        t = time.perf_counter_ns()
        fn()
        samples[i] = time.perf_counter_ns() - t
    return np.median(samples) / 1e3, np.percentile(samples, 99) / 1e3


def main() -> None:
    import torch

    from dagger_ros.core.policy_model import EnsemblePolicy

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    k, sizes = 5, [12, 256, 256, 3]
    weights = [rng.normal(0, 0.1, (k, a, b)).astype(np.float32)
               for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [rng.normal(0, 0.1, (k, b)).astype(np.float32) for b in sizes[1:]]
    policy = EnsemblePolicy(weights, biases, np.zeros(12, np.float32), np.ones(12, np.float32),
                            np.zeros(3, np.float32), np.ones(3, np.float32),
                            [f"o{i}" for i in range(12)], ["a", "b", "c"])
    obs = rng.normal(size=12).astype(np.float32)

    def numpy_loop():
        outs = []
        for m in range(k):
            h = obs
            for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
                h = h @ w[m] + b[m]
                if i < 2:
                    h = np.maximum(h, 0)
            outs.append(h)
        out = np.stack(outs)
        return out.mean(0), out.std(0)

    tw = [torch.from_numpy(w) for w in weights]
    tb = [torch.from_numpy(b) for b in biases]
    tobs = torch.from_numpy(obs)

    def member(params, x):
        w0, b0, w1, b1, w2, b2 = params
        return torch.relu(torch.relu(x @ w0 + b0) @ w1 + b1) @ w2 + b2

    def torch_loop():
        with torch.no_grad():
            out = torch.stack([member([tw[0][m], tb[0][m], tw[1][m], tb[1][m], tw[2][m],
                                       tb[2][m]], tobs) for m in range(k)])
            return out.mean(0), out.std(0)

    vmapped = torch.vmap(member, in_dims=(0, None))

    def torch_vmap():
        with torch.no_grad():
            out = vmapped([tw[0], tb[0], tw[1], tb[1], tw[2], tb[2]], tobs)
            return out.mean(0), out.std(0)

    tb3 = [b[:, None, :] for b in tb]

    def torch_bmm():
        with torch.no_grad():
            h = tobs.expand(k, 1, -1)
            h = torch.relu(torch.baddbmm(tb3[0], h, tw[0]))
            h = torch.relu(torch.baddbmm(tb3[1], h, tw[1]))
            out = torch.baddbmm(tb3[2], h, tw[2])[:, 0]
            return out.mean(0), out.std(0)

    assert np.allclose(policy.predict(obs)[0], numpy_loop()[0], atol=1e-4)
    assert np.allclose(policy.predict(obs)[0], torch_bmm()[0].numpy(), atol=1e-4)
    print("5-member ensemble of 256-256 MLPs, one observation (12 in, 3 out), 1 thread")
    rows = [("policy node: numpy stacked matmul (ours)", lambda: policy.predict(obs)),
            ("numpy loop over members", numpy_loop), ("torch loop over members", torch_loop),
            ("torch.vmap over members", torch_vmap), ("torch bmm over stacked weights",
                                                      torch_bmm)]
    for name, fn in rows:
        median, p99 = timeit(fn)
        print(f"  {name:<42} median {median:7.1f} us   p99 {p99:7.1f} us")


if __name__ == "__main__":
    main()
