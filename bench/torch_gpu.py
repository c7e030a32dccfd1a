#!/usr/bin/env python3
"""PyTorch peer on a GPU (CUDA) for bench/gpu.sh: bench-unet train/infer, bench-gan train, the volume inference, and
the real-size nets of bench/torch_real.py (seed000-unet-train, pgan256-train).

The nets, data and losses are imported from the peer's own scripts (torch_bench.py from shared/peers, and
bench/torch_volume_infer.py for the 240x240x155 volume), so the GPU figures measure exactly the SPEC nets; only the
device differs. Same protocol as torch_bench.py: `--warmup` untimed steps, then `--steps` steps each timed alone with a
monotonic clock, median and min reported. Every timed step ends with a host read (`.item()`), which waits for the GPU,
as the product's steps do. Prints one JSON line per figure:
  {"peer":"pytorch","device":"cuda","bench":"unet-train","ms_median":..,"ms_min":..,"torch":..,"gpu":..}
Usage: python3 bench/torch_gpu.py --peer-dir ../shared/peers --device cuda [--device cpu --threads 16]
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, path):
    if not os.path.isfile(path):
        sys.exit(f"torch_gpu.py: {path} not found (pass --peer-dir with torch_bench.py, or keep the pack's copy)")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(step, steps, warmup, sync):
    for _ in range(warmup):
        step()
    sync()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        sync()
        ts.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(ts), min(ts)


def unet_train(tb, dev, steps, warmup, sync):
    import torch

    net = tb.make_unet().to(dev).train()
    x, targets, onehots = tb.unet_data()
    x, targets, onehots = x.to(dev), [t.to(dev) for t in targets], [o.to(dev) for o in onehots]
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.99, nesterov=True, weight_decay=3e-5)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = tb.unet_loss(net(x), targets, onehots)
        loss.backward()
        opt.step()
        loss.item()

    return timed(step, steps, warmup, sync)


def unet_infer(tb, dev, steps, warmup, sync):
    import torch

    net = tb.make_unet().to(dev).eval()
    x = tb.unet_data()[0].to(dev)

    def step():
        with torch.no_grad():
            float(net(x, deep_supervision=False)[0, 0, 0, 0])

    return timed(step, steps, warmup, sync)


def gan_train(tb, dev, steps, warmup, sync):
    import torch
    import torch.nn.functional as F

    G, D = tb.make_gan()
    G, D = G.to(dev).train(), D.to(dev).train()
    g = torch.Generator().manual_seed(tb.SEED)
    real = (torch.rand(tb.GAN_BATCH, tb.GAN_CH, tb.GAN_SIZE, tb.GAN_SIZE, generator=g) * 2 - 1).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.0, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.99), eps=1e-8)

    def step():
        # latents drawn on the host and uploaded, as the product does (its Rng runs on the CPU)
        z = torch.randn(tb.GAN_BATCH, tb.GAN_LATENT, generator=g).to(dev)
        with torch.no_grad():
            fake = G(z)
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        loss_d.backward()
        opt_d.step()
        z = torch.randn(tb.GAN_BATCH, tb.GAN_LATENT, generator=g).to(dev)
        D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-D(G(z))).mean()
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        loss_d.item(), loss_g.item()

    return timed(step, steps, warmup, sync)


def volume_infer(tv, dev, slices, size, chunk, repeats, sync):
    import torch

    torch.manual_seed(0)
    net = tv.UNet().to(dev).eval()
    vol = torch.randn(slices, 4, size, size).to(dev)  # device-resident before timing, as in the product's run
    times = []
    with torch.no_grad():
        net(vol[: min(chunk, slices)])[0, 0, 0, 0].item()  # warm-up (cuDNN algorithm choice)
        if slices % chunk:
            net(vol[: slices % chunk])[0, 0, 0, 0].item()  # and the shorter last chunk
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            for s in range(0, slices, chunk):
                net(vol[s : s + chunk])[0, 0, 0, 0].item()
            sync()
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer-dir", default=os.path.join(HERE, "..", "..", "shared", "peers"),
                    help="folder holding torch_bench.py (default ../shared/peers beside the checkout)")
    ap.add_argument("--volume-script", default=os.path.join(HERE, "torch_volume_infer.py"))
    ap.add_argument("--device", default="cuda", help="cuda or cpu")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: leave torch's default)")
    ap.add_argument("--only", default="unet-train,unet-infer,gan-train,volume-infer,seed000-unet-train,pgan256-train")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--unet-batch", type=int, default=0, help="override the spec's batch 4 (quick local checks only)")
    ap.add_argument("--unet-size", type=int, default=0, help="override the spec's 128x128 (quick local checks only)")
    ap.add_argument("--gan-batch", type=int, default=0, help="override the spec's batch 16 (quick local checks only)")
    ap.add_argument("--volume-slices", type=int, default=155)
    ap.add_argument("--volume-size", type=int, default=240)
    ap.add_argument("--volume-chunk", type=int, default=16)
    ap.add_argument("--volume-repeats", type=int, default=3)
    a = ap.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import torch

    if a.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("torch_gpu.py: torch.cuda.is_available() is False (no NVIDIA driver, or a CPU-only torch build)")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.backends.cudnn.benchmark = True  # what a PyTorch user on a GPU turns on; fixed shapes here
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    gpu = torch.cuda.get_device_name(dev) if cuda else None
    tb = load("torch_bench", os.path.join(a.peer_dir, "torch_bench.py"))
    tv = load("torch_volume_infer", a.volume_script)
    # torch_bench.py reads its sizes from module constants at call time: overriding them shrinks the nets' inputs
    if a.unet_batch:
        tb.UNET_BATCH = a.unet_batch
    if a.unet_size:
        tb.UNET_SIZE = a.unet_size
    if a.gan_batch:
        tb.GAN_BATCH = a.gan_batch
    base = {"peer": "pytorch", "device": dev.type, "torch": torch.__version__, "threads": torch.get_num_threads()}
    if a.unet_batch or a.unet_size or a.gan_batch:
        base["sizes"] = f"unet {tb.UNET_BATCH}x{tb.UNET_SIZE}, gan batch {tb.GAN_BATCH} (not the spec's)"
    if gpu:
        base["gpu"] = gpu
    only = [b.strip() for b in a.only.split(",") if b.strip()]
    for bench in only:
        t0 = time.perf_counter()
        if bench == "unet-train":
            med, mn = unet_train(tb, dev, a.steps, a.warmup, sync)
        elif bench == "unet-infer":
            med, mn = unet_infer(tb, dev, a.steps, a.warmup, sync)
        elif bench == "gan-train":
            med, mn = gan_train(tb, dev, a.steps, a.warmup, sync)
        elif bench in ("seed000-unet-train", "pgan256-train"):
            # real-size peers (bench/torch_real.py): the seed-000 U-Net 256x256 batch 8, the PGAN at 256x256 batch 16
            tr = load("torch_real", os.path.join(HERE, "torch_real.py"))
            make = tr.seed000_unet_step if bench == "seed000-unet-train" else tr.pgan256_step
            med, mn = timed(make(dev), a.steps, a.warmup, sync)
        elif bench == "volume-infer":
            med, mn = volume_infer(tv, dev, a.volume_slices, a.volume_size, a.volume_chunk, a.volume_repeats, sync)
        else:
            sys.exit(f"torch_gpu.py: unknown bench {bench}; use unet-train, unet-infer, gan-train, volume-infer, "
                     "seed000-unet-train, pgan256-train")
        out = dict(base, bench=bench, ms_median=round(med, 2), ms_min=round(mn, 2))
        if bench == "seed000-unet-train":
            out["sizes"] = "seed-000 U-Net 256x256 batch 8 (bench/torch_real.py)"
        elif bench == "pgan256-train":
            out["sizes"] = "PGAN 5 ch 256x256 paper fmaps, batch 16, WGAN-GP (bench/torch_real.py)"
        if bench == "volume-infer":
            out.update(slices=a.volume_slices, size=a.volume_size, chunk=a.volume_chunk)
        print(json.dumps(out), flush=True)
        print(f"# torch {dev.type} {bench}: {med:.2f} ms ({time.perf_counter() - t0:.1f} s incl. warm-up)",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
