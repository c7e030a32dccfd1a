#!/usr/bin/python3
"""PyTorch peers of the generator families' training steps (packages/ml/src/families), same architectures.

ddpm-train: one DDPM step (U-Net noise predictor, eps objective, Adam, EMA update) at the demo config
(32x32x5, batch 8, base 16, mults 1,2,2, 1 res block, attention at <= 8, group norm 8).
stylegan2-train: StyleGAN2 joint generation at the demo config (32x32, 4 sequences + 4-class softmax head,
latent 32, mapping 2, fmap base 512 / max 32, batch 8); the figure is the mean over 4 consecutive steps, one of
which adds lazy R1 and path-length regularisation (intervals 4), as the product's step does.
Prints one JSON line per measurement, as torch_bench.py.
Usage: /usr/bin/python3 bench/torch_families.py --bench ddpm,stylegan2 --threads 1,2 --steps 6 --warmup 2
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------- DDPM
RES, CH_IMG, BATCH = 32, 5, 8
BASE, MULTS, NRES, ATTN_SIDE, GROUPS, T = 16, (1, 2, 2), 1, 8, 8, 1000


def silu(x):
    return x * torch.sigmoid(x)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, tdim):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(silu(self.norm1(x)))
        h = h + self.temb(silu(temb))[:, :, None, None]
        h = self.conv2(silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, c)
        self.q, self.k, self.v, self.proj = (nn.Linear(c, c) for _ in range(4))
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.norm(x).flatten(2).transpose(1, 2)  # [b, hw, c]
        q, k, v = self.q(y), self.k(y), self.v(y)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), -1) @ v
        return x + self.proj(a).transpose(1, 2).reshape(b, c, h, w)


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        ch, td = BASE, 4 * BASE
        self.temb0, self.temb1 = nn.Linear(ch, td), nn.Linear(td, td)
        self.cin = nn.Conv2d(CH_IMG, ch, 3, padding=1)
        self.down = nn.ModuleList()
        chans, side, cur = [ch], RES, ch
        levels = len(MULTS)
        for l, m in enumerate(MULTS):
            for _ in range(NRES):
                blocks = nn.ModuleList([ResBlock(cur, ch * m, td)])
                cur = ch * m
                if side <= ATTN_SIDE or l == levels - 1:
                    blocks.append(Attn(cur))
                self.down.append(blocks)
                chans.append(cur)
            if l < levels - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(cur, cur, 3, stride=2, padding=1)]))
                chans.append(cur)
                side //= 2
        self.mid = nn.ModuleList([ResBlock(cur, cur, td), Attn(cur), ResBlock(cur, cur, td)])
        self.up = nn.ModuleList()
        for l in reversed(range(levels)):
            m = MULTS[l]
            for _ in range(NRES + 1):
                blocks = nn.ModuleList([ResBlock(cur + chans.pop(), ch * m, td)])
                cur = ch * m
                if side <= ATTN_SIDE or l == levels - 1:
                    blocks.append(Attn(cur))
                self.up.append(blocks)
            if l > 0:
                self.up.append(nn.ModuleList([nn.Conv2d(cur, cur, 3, padding=1)]))
                side *= 2
        self.norm_out = nn.GroupNorm(GROUPS, cur)
        self.cout = nn.Conv2d(cur, CH_IMG, 3, padding=1)
        nn.init.zeros_(self.cout.weight)
        nn.init.zeros_(self.cout.bias)

    def forward(self, x, t):
        half = BASE // 2
        f = torch.exp(-math.log(10000) * torch.arange(half) / max(1, half - 1))
        e = t[:, None].float() * f[None]
        temb = self.temb1(silu(self.temb0(torch.cat([e.sin(), e.cos()], 1))))
        h = self.cin(x)
        hs = [h]
        for blocks in self.down:
            if isinstance(blocks[0], ResBlock):
                h = blocks[0](h, temb)
                for b in blocks[1:]:
                    h = b(h)
            else:
                h = blocks[0](h)
            hs.append(h)
        h = self.mid[2](self.mid[1](self.mid[0](h, temb)), temb)
        for blocks in self.up:
            if isinstance(blocks[0], ResBlock):
                h = blocks[0](torch.cat([h, hs.pop()], 1), temb)
                for b in blocks[1:]:
                    h = b(h)
            else:
                h = blocks[0](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.cout(silu(self.norm_out(h)))


def alpha_bars():
    s = 0.008
    f = lambda t: math.cos(((t / T + s) / (1 + s)) * math.pi / 2) ** 2
    out, prod = [], 1.0
    for t in range(T):
        prod *= 1 - min(1 - f(t + 1) / f(t), 0.999)
        out.append(prod)
    return torch.tensor(out)


def make_ddpm():
    torch.manual_seed(0)
    net = UNet()
    ema = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    ab = alpha_bars()
    x0 = torch.rand(BATCH, CH_IMG, RES, RES) * 2 - 1

    def step():
        t = torch.randint(0, T, (BATCH,))
        noise = torch.randn_like(x0)
        a = ab[t].sqrt()[:, None, None, None]
        b = (1 - ab[t]).sqrt()[:, None, None, None]
        loss = F.mse_loss(net(x0 * a + noise * b, t), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(0.995).add_(p, alpha=0.005)
        return loss.item()

    return step, sum(p.numel() for p in net.parameters())


# ----------------------------------------------------------------------------- StyleGAN2
LAT, NMAP, FBASE, FMAX, CLASSES, SEQ = 32, 2, 512, 32, 4, 4
R1_GAMMA, R1_INT, PL_W, PL_INT = 1.0, 4, 2.0, 4


def nf(side):
    return max(1, min(FBASE // side, FMAX))


def lrelu(x):
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


class EqLinear(nn.Module):
    def __init__(self, cin, cout, lr_mul=1.0, bias_init=0.0, bias=True):
        super().__init__()
        self.w = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.b = nn.Parameter(torch.full([cout], bias_init / lr_mul)) if bias else None
        self.g, self.lr_mul = lr_mul / math.sqrt(cin), lr_mul

    def forward(self, x):
        return F.linear(x, self.w * self.g, None if self.b is None else self.b * self.lr_mul)


class EqConv(nn.Module):
    def __init__(self, cin, cout, k, bias=True):
        super().__init__()
        self.w = nn.Parameter(torch.randn(cout, cin, k, k))
        self.b = nn.Parameter(torch.zeros(cout)) if bias else None
        self.g, self.pad = 1 / math.sqrt(cin * k * k), k // 2

    def forward(self, x):
        return F.conv2d(x, self.w * self.g, self.b, padding=self.pad)


def modconv(x, styles, w, demod):
    # The non-fused form of StyleGAN2 (as the product): scale inputs, shared conv, scale outputs.
    y = F.conv2d(x * styles[:, :, None, None], w, padding=w.shape[-1] // 2)
    if demod:
        d = (styles.square() @ w.square().sum([2, 3]).t() + 1e-8).rsqrt()
        y = y * d[:, :, None, None]
    return y


class SynLayer(nn.Module):
    def __init__(self, cin, cout, side):
        super().__init__()
        self.affine = EqLinear(LAT, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.side = side

    def forward(self, x, w):
        y = modconv(x, self.affine(w), self.weight, True)
        y = y + torch.randn(x.shape[0], 1, self.side, self.side) * self.noise_strength
        return lrelu(y + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.affine = EqLinear(LAT, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(SEQ, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(SEQ))
        self.g = 1 / math.sqrt(cin)

    def forward(self, x, w):
        return modconv(x, self.affine(w) * self.g, self.weight, False) + self.bias[None, :, None, None]


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.map = nn.ModuleList([EqLinear(LAT, LAT, lr_mul=0.01) for _ in range(NMAP)])
        self.const = nn.Parameter(torch.randn(1, nf(4), 4, 4))
        self.layers = nn.ModuleList([SynLayer(nf(4), nf(4), 4)])
        self.torgb = nn.ModuleList([ToRGB(nf(4))])
        side = 8
        while side <= RES:
            self.layers.append(SynLayer(nf(side // 2), nf(side), side))
            self.layers.append(SynLayer(nf(side), nf(side), side))
            self.torgb.append(ToRGB(nf(side)))
            side *= 2
        self.seg = EqConv(nf(RES), CLASSES, 1)

    def mapping(self, z):
        x = z * (z.square().mean(1, keepdim=True) + 1e-8).rsqrt()
        for m in self.map:
            x = lrelu(m(x))
        return x

    def synthesis(self, w):
        x = self.const.expand(w.shape[0], -1, -1, -1)
        x = self.layers[0](x, w)
        img = self.torgb[0](x, w)
        for i, rgb in enumerate(self.torgb[1:]):
            x = self.layers[1 + 2 * i](F.interpolate(x, scale_factor=2, mode="nearest"), w)
            x = self.layers[2 + 2 * i](x, w)
            img = F.interpolate(img, scale_factor=2, mode="nearest") + rgb(x, w)
        return img, self.seg(x)

    def forward(self, z):
        img, logits = self.synthesis(self.mapping(z))
        return torch.cat([img, torch.softmax(logits, 1)], 1)


def mbstd(x, group=4):
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:
        g -= 1
    y = x.reshape(g, n // g, c, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean([1, 2, 3])  # [m]
    y = y.reshape(1, -1, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], 1)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fromrgb = EqConv(SEQ + CLASSES, nf(RES), 1)
        self.blocks = nn.ModuleList()
        side = RES
        while side > 4:
            self.blocks.append(nn.ModuleList([EqConv(nf(side), nf(side // 2), 1, bias=False),
                                              EqConv(nf(side), nf(side), 3), EqConv(nf(side), nf(side // 2), 3)]))
            side //= 2
        self.conv = EqConv(nf(4) + 1, nf(4), 3)
        self.fc = EqLinear(16 * nf(4), nf(4))
        self.out = EqLinear(nf(4), 1)

    def forward(self, x):
        x = lrelu(self.fromrgb(x))
        for skip, c0, c1 in self.blocks:
            s = skip(F.avg_pool2d(x, 2))
            x = F.avg_pool2d(lrelu(c1(lrelu(c0(x)))), 2)
            x = (x + s) * math.sqrt(0.5)
        x = lrelu(self.conv(mbstd(x)))
        # NHWC flatten order as the product (it only permutes fc weights; same cost).
        return self.out(lrelu(self.fc(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))))


def make_stylegan2():
    torch.manual_seed(0)
    G, D = Generator(), Discriminator()
    G_ema = [p.detach().clone() for p in G.parameters()]
    g_opt = torch.optim.Adam(G.parameters(), lr=0.002, betas=(0, 0.99), eps=1e-8)
    d_opt = torch.optim.Adam(D.parameters(), lr=0.002, betas=(0, 0.99), eps=1e-8)
    seq = torch.rand(BATCH, SEQ, RES, RES) * 2 - 1
    labels = torch.randint(0, CLASSES, (BATCH, RES, RES))
    reals = torch.cat([seq, F.one_hot(labels, CLASSES).permute(0, 3, 1, 2).float()], 1)
    state = {"i": 0, "pl_mean": 0.0}

    def one():
        i = state["i"]
        # D step
        with torch.no_grad():
            fake = G(torch.randn(BATCH, LAT))
        r = reals.detach().requires_grad_(i % R1_INT == 0)
        loss = F.softplus(D(fake)).mean() + F.softplus(-D(r)).mean()
        if i % R1_INT == 0:
            g, = torch.autograd.grad(D(r).sum(), r, create_graph=True)
            loss = loss + g.square().sum([1, 2, 3]).mean() * (R1_GAMMA / 2) * R1_INT
        d_opt.zero_grad(set_to_none=True)
        loss.backward()
        d_opt.step()
        # G step
        loss = F.softplus(-D(G(torch.randn(BATCH, LAT)))).mean()
        if i % PL_INT == 0:
            m = BATCH // 2
            w = G.mapping(torch.randn(m, LAT))
            img, _ = G.synthesis(w)
            y = torch.randn_like(img) / RES
            g, = torch.autograd.grad((img * y).sum(), w, create_graph=True)
            lengths = (g.square().sum(1) + 1e-12).sqrt()
            loss = loss + (lengths - state["pl_mean"]).square().mean() * PL_W * PL_INT
            state["pl_mean"] += (lengths.mean().item() - state["pl_mean"]) * 0.01
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        g_opt.step()
        beta = 0.5 ** (BATCH / 500)
        with torch.no_grad():
            for e, p in zip(G_ema, G.parameters()):
                e.lerp_(p, 1 - beta)
        state["i"] += 1

    def step():
        # mean over one regularisation period (4 steps, the first with R1 + path length)
        for _ in range(R1_INT):
            one()

    return step, sum(p.numel() for p in G.parameters()) + sum(p.numel() for p in D.parameters()), R1_INT


def timed(step, steps, warmup):
    for _ in range(warmup):
        step()
    ts = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="ddpm,stylegan2")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    print(f"# torch {torch.__version__}", file=sys.stderr, flush=True)
    for n in [int(t) if t != "all" else (os.cpu_count() or 1) for t in a.threads.split(",")]:
        torch.set_num_threads(n)
        for name in a.bench.split(","):
            if name == "ddpm":
                step, params = make_ddpm()
                per = 1
            else:
                step, params, per = make_stylegan2()
            med, mn = timed(step, a.steps, a.warmup)
            print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "bench": f"{name}-train", "threads": n,
                              "ms_median": round(med / per, 2), "ms_min": round(mn / per, 2), "params": params}),
                  flush=True)


if __name__ == "__main__":
    main()
