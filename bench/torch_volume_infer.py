#!/usr/bin/env python3
"""PyTorch peer for bench/src/volume-infer.ts: U-Net inference of one 240x240x155 4-channel volume.

The net is bench-unet's inference path (../shared/peers/SPEC.md: encoder 4->16->32->64->128->256, stride-2 convs,
2x2 transposed-conv decoder, instance norm + LeakyReLU(0.01), only out_0 computed) applied to 240x240 axial slices
(240 = 16 * 15, so no padding is needed), the 155 slices batched in chunks of --chunk. Prints one JSON line:
{"peer": "pytorch", "bench": "volume-infer", "threads": n, "ms": total, "slices": 155, "chunk": c}.
Run with Debian's /usr/bin/python3 (python3-torch); OPENBLAS_NUM_THREADS=1 as in torch_bench.py.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def block(cin, cout, stride):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1), nn.InstanceNorm2d(cout, affine=True, eps=1e-5), nn.LeakyReLU(0.01)
    )


def stage(cin, cout, stride):
    return nn.Sequential(block(cin, cout, stride), block(cout, cout, 1))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        ch = [16, 32, 64, 128, 256]
        self.enc = nn.ModuleList([stage(4, 16, 1)] + [stage(ch[i - 1], ch[i], 2) for i in range(1, 5)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, 2) for i in range(4)])
        self.dec = nn.ModuleList([stage(2 * ch[i], ch[i], 1) for i in range(4)])
        self.head0 = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        skips = []
        for e in self.enc:
            x = e(x)
            skips.append(x)
        x = skips[4]
        for i in (3, 2, 1, 0):
            x = self.dec[i](torch.cat([self.up[i](x), skips[i]], 1))
        return self.head0(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--slices", type=int, default=155)
    p.add_argument("--size", type=int, default=240)
    p.add_argument("--chunk", type=int, default=16)
    p.add_argument("--repeats", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    net = UNet().eval()
    vol = torch.randn(a.slices, 4, a.size, a.size)
    times = []
    with torch.no_grad():
        net(vol[: min(a.chunk, a.slices)])[0, 0, 0, 0].item()  # warm-up
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            for s in range(0, a.slices, a.chunk):
                net(vol[s : s + a.chunk])[0, 0, 0, 0].item()
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"# torch {torch.__version__}", file=sys.stderr)
    out = {"peer": "pytorch", "bench": "volume-infer", "threads": a.threads, "ms": round(times[len(times) // 2], 2)}
    out.update({"slices": a.slices, "size": a.size, "chunk": a.chunk})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
