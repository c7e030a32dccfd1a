"""Real-size PyTorch peers for bench/torch_gpu.py (issue 15): the product's own nets at the paper's scale.

seed000-unet-train: the seed-000 U-Net (packages/ml/src/unet/config.ts SEED000_UNET): 6 levels of widths
  32,64,128,256,512,512, each stage 2 x (conv3x3 -> InstanceNorm(affine) -> LeakyReLU 0.01), stride-2 conv down,
  2x2 stride-2 transposed conv up, 5 deep-supervision 1x1 heads, CE + soft Dice per head with nnU-Net's weights;
  4 input channels, 4 classes, 256x256, batch 8; SGD Nesterov lr 0.05 momentum 0.99 weight decay 3e-5.
pgan256-train: the 5-channel progressive GAN fully grown to 256x256 (packages/ml/src/gan/config.ts paper defaults:
  latent 512, feature maps min(8192 / 2^(r-1), 512): 512 up to 32x32, then 256, 128, 64), equalised learning rate,
  pixel norm, minibatch stddev (group 4); one WGAN-GP step: D update with gradient penalty (lambda 10) and drift
  (0.001), then G update; Adam(0.001, 0, 0.99); batch 16.
Written from the product's description (not shared/peers): each figure line says "sizes" so nobody mistakes it for a
SPEC bench.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

UNET_WIDTHS = [32, 64, 128, 256, 512, 512]
UNET_HEADS = 5
UNET_BATCH = 8
UNET_SIZE = 256
GAN_BATCH = 16
GAN_SIZE = 256
GAN_CH = 5
GAN_LATENT = 512


def conv_block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.InstanceNorm2d(cout, affine=True),
                         nn.LeakyReLU(0.01))


class Seed000UNet(nn.Module):
    def __init__(self, cin=4, classes=4, widths=UNET_WIDTHS, heads=UNET_HEADS):
        super().__init__()
        self.enc = nn.ModuleList()
        prev = cin
        for i, w in enumerate(widths):
            self.enc.append(nn.Sequential(conv_block(prev, w, 1 if i == 0 else 2), conv_block(w, w, 1)))
            prev = w
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        self.heads = nn.ModuleList()
        for i in range(len(widths) - 2, -1, -1):
            self.up.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, 2))
            self.dec.append(nn.Sequential(conv_block(2 * widths[i], widths[i], 1), conv_block(widths[i], widths[i], 1)))
            self.heads.append(nn.Conv2d(widths[i], classes, 1))
        self.n_heads = heads

    def forward(self, x):
        skips = []
        for stage in self.enc:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        outs = []
        for up, dec, head in zip(self.up, self.dec, self.heads):
            x = dec(torch.cat([up(x), skips.pop()], 1))
            outs.append(head(x))
        return outs[::-1][: self.n_heads]  # highest resolution first


def ds_weights(n):
    w = [1 / 2**i for i in range(n)]
    return [v / sum(w) for v in w]


def seg_loss(outs, labels):
    total = 0
    for o, w in zip(outs, ds_weights(len(outs))):
        t = F.interpolate(labels[:, None].float(), size=o.shape[-2:], mode="nearest")[:, 0].long()
        p = o.softmax(1)
        oh = F.one_hot(t, o.shape[1]).permute(0, 3, 1, 2).float()
        inter = (p * oh).sum((0, 2, 3))
        dice = (2 * inter + 1e-5) / (p.sum((0, 2, 3)) + oh.sum((0, 2, 3)) + 1e-5)
        total = total + w * (F.cross_entropy(o, t) + 1 - dice.mean())
    return total


def seed000_unet_step(dev, batch=UNET_BATCH, size=UNET_SIZE):
    g = torch.Generator().manual_seed(0)
    net = Seed000UNet().to(dev).train()
    x = torch.randn(batch, 4, size, size, generator=g).to(dev)
    labels = torch.randint(0, 4, (batch, size, size), generator=g).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.99, nesterov=True, weight_decay=3e-5)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = seg_loss(net(x), labels)
        loss.backward()
        opt.step()
        loss.item()

    return step


def fmaps(res_log2):
    return max(1, min(8192 // 2 ** (res_log2 - 1), 512))


class EqConv(nn.Module):
    """Equalised learning rate: N(0,1) weights scaled by He's constant at run time (PGAN)."""

    def __init__(self, cin, cout, k):
        super().__init__()
        self.w = nn.Parameter(torch.randn(cout, cin, k, k))
        self.b = nn.Parameter(torch.zeros(cout))
        self.scale = math.sqrt(2 / (cin * k * k))
        self.pad = k // 2

    def forward(self, x):
        return F.conv2d(x, self.w * self.scale, self.b, padding=self.pad)


class EqDense(nn.Module):
    def __init__(self, cin, cout, gain=math.sqrt(2)):
        super().__init__()
        self.w = nn.Parameter(torch.randn(cout, cin))
        self.b = nn.Parameter(torch.zeros(cout))
        self.scale = gain / math.sqrt(cin)

    def forward(self, x):
        return F.linear(x, self.w * self.scale, self.b)


def pixel_norm(x):
    return x * torch.rsqrt((x * x).mean(1, keepdim=True) + 1e-8)


def act(x):
    return F.leaky_relu(x, 0.2)


class PganG(nn.Module):
    def __init__(self, size=GAN_SIZE, ch=GAN_CH, latent=GAN_LATENT):
        super().__init__()
        top = int(math.log2(size))
        self.dense = EqDense(latent, fmaps(2) * 16, gain=math.sqrt(2) / 4)
        self.conv4 = EqConv(fmaps(2), fmaps(2), 3)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqConv(fmaps(r - 1), fmaps(r), 3), EqConv(fmaps(r), fmaps(r), 3)]) for r in range(3, top + 1))
        self.to_rgb = EqConv(fmaps(top), ch, 1)

    def forward(self, z):
        x = pixel_norm(act(self.dense(pixel_norm(z)).view(z.shape[0], -1, 4, 4)))
        x = pixel_norm(act(self.conv4(x)))
        for c1, c2 in self.blocks:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = pixel_norm(act(c1(x)))
            x = pixel_norm(act(c2(x)))
        return self.to_rgb(x)


def minibatch_stddev(x, group=4):
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.view(g, -1, c, h, w)
    y = (y - y.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean((1, 2, 3))  # [n/g]
    y = y.view(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], 1)


class PganD(nn.Module):
    def __init__(self, size=GAN_SIZE, ch=GAN_CH):
        super().__init__()
        top = int(math.log2(size))
        self.from_rgb = EqConv(ch, fmaps(top), 1)
        self.blocks = nn.ModuleList(
            nn.ModuleList([EqConv(fmaps(r), fmaps(r), 3), EqConv(fmaps(r), fmaps(r - 1), 3)]) for r in range(top, 2, -1))
        self.conv4 = EqConv(fmaps(2) + 1, fmaps(2), 3)
        self.dense = EqDense(fmaps(2) * 16, fmaps(2))
        self.out = EqDense(fmaps(2), 1, gain=1)

    def forward(self, x):
        x = act(self.from_rgb(x))
        for c1, c2 in self.blocks:
            x = act(c2(act(c1(x))))
            x = F.avg_pool2d(x, 2)
        x = act(self.conv4(minibatch_stddev(x)))
        return self.out(act(self.dense(x.flatten(1))))


def pgan256_step(dev, batch=GAN_BATCH, size=GAN_SIZE):
    g = torch.Generator().manual_seed(0)
    G, D = PganG(size).to(dev).train(), PganD(size).to(dev).train()
    real = (torch.rand(batch, GAN_CH, size, size, generator=g) * 2 - 1).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.99), eps=1e-8)

    def step():
        z = torch.randn(batch, GAN_LATENT, generator=g).to(dev)
        with torch.no_grad():
            fake = G(z)
        opt_d.zero_grad(set_to_none=True)
        d_real, d_fake = D(real), D(fake)
        eps = torch.rand(batch, 1, 1, 1, device=dev)
        mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(mix).sum(), mix, create_graph=True)
        gp = (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
        loss_d = d_fake.mean() - d_real.mean() + 10 * gp + 0.001 * d_real.pow(2).mean()
        loss_d.backward()
        opt_d.step()
        z = torch.randn(batch, GAN_LATENT, generator=g).to(dev)
        D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = -D(G(z)).mean()
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        loss_d.item(), loss_g.item()

    return step
