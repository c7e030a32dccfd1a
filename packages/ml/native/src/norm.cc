// Instance norm + LeakyReLU, NHWC. Every pass walks pixels in order and channels innermost, so the channel loop is
// contiguous and vectorises; per-channel sums run in float over blocks of BLOCK pixels and are flushed into double
// accumulators, which keeps them exact enough for large planes (240 x 240) without double arithmetic per element.
// Work is split into (sample, channel group) tasks so that even one sample uses every thread; gamma/beta gradients
// are summed per sample and then added in sample order, so results do not depend on the thread count.
#include "norm.h"

#include <cmath>
#include <vector>

#include "pool.h"

namespace synthmri {
namespace {
constexpr long BLOCK = 64;

// Splits (sample, channel-group) pairs into tasks so one sample still uses every thread.
long channel_groups(long n, long c) {
  long groups = 1;
  while (n * groups < 2L * get_threads() && c % (groups * 2) == 0 && c / (groups * 2) >= 8) groups *= 2;
  return groups;
}

// The per-row loops live in plain functions with restrict-qualified parameters: inside the pool's lambdas GCC did not
// vectorise them (measured 3-4x slower). leaky'(z) and leaky(z) multiply by a selected 1 or alpha, a blend rather than
// a branch, with results identical to z > 0 ? z : alpha * z.
void block_sum(long p0, long p1, long c, long cg, const float* __restrict x, float* __restrict part) {
  for (long p = p0; p < p1; ++p) {
    const float* row = x + p * c;
    for (long k = 0; k < cg; ++k) part[k] += row[k];
  }
}

void block_sq(long p0, long p1, long c, long cg, const float* __restrict x, const float* __restrict mean,
              float* __restrict part) {
  for (long p = p0; p < p1; ++p) {
    const float* row = x + p * c;
    for (long k = 0; k < cg; ++k) {
      float d = row[k] - mean[k];
      part[k] += d * d;
    }
  }
}

void affine_leaky(long hw, long c, long cg, const float* __restrict x, const float* __restrict sc,
                  const float* __restrict sh, float alpha, float* __restrict y) {
  for (long p = 0; p < hw; ++p) {
    const float* xr = x + p * c;
    float* yr = y + p * c;
    for (long k = 0; k < cg; ++k) {
      float z = xr[k] * sc[k] + sh[k];
      float s = z > 0.f ? 1.f : alpha;
      yr[k] = z * s;
    }
  }
}

void block_grad_sums(long p0, long p1, long c, long cg, const float* __restrict x, const float* __restrict dy,
                     const float* __restrict mu, const float* __restrict rs, const float* __restrict gg,
                     const float* __restrict bb, float alpha, float* __restrict s1, float* __restrict s2) {
  for (long p = p0; p < p1; ++p) {
    const float* xr = x + p * c;
    const float* dr = dy + p * c;
    for (long k = 0; k < cg; ++k) {
      float xhat = (xr[k] - mu[k]) * rs[k];
      float z = gg[k] * xhat + bb[k];
      float s = z > 0.f ? 1.f : alpha;
      float dz = dr[k] * s;
      s1[k] += dz;
      s2[k] += dz * xhat;
    }
  }
}

void grad_dx(long hw, long c, long cg, const float* __restrict x, const float* __restrict dy, const float* __restrict mu,
             const float* __restrict rs, const float* __restrict gg, const float* __restrict bb, float alpha,
             const float* __restrict a1, const float* __restrict a2, const float* __restrict a3, float* __restrict dx) {
  for (long p = 0; p < hw; ++p) {
    const float* xr = x + p * c;
    const float* dr = dy + p * c;
    float* out = dx + p * c;
    for (long k = 0; k < cg; ++k) {
      float xhat = (xr[k] - mu[k]) * rs[k];
      float z = gg[k] * xhat + bb[k];
      float s = z > 0.f ? 1.f : alpha;
      float dz = dr[k] * s;
      out[k] = a1[k] * (dz - a2[k] - xhat * a3[k]);
    }
  }
}

// Per-channel mean and 1/sqrt(biased var + eps) of a [hw x cg] slice with row stride c (two-pass, centred).
void slice_stats(long hw, long c, long cg, const float* __restrict x, float eps, float* __restrict mean,
                 float* __restrict rstd) {
  std::vector<double> total(cg, 0.0);
  std::vector<float> part(cg);
  for (long p0 = 0; p0 < hw; p0 += BLOCK) {
    long p1 = p0 + BLOCK < hw ? p0 + BLOCK : hw;
    for (long k = 0; k < cg; ++k) part[k] = 0.f;
    block_sum(p0, p1, c, cg, x, part.data());
    for (long k = 0; k < cg; ++k) total[k] += part[k];
  }
  for (long k = 0; k < cg; ++k) mean[k] = (float)(total[k] / hw);
  for (long k = 0; k < cg; ++k) total[k] = 0.0;
  for (long p0 = 0; p0 < hw; p0 += BLOCK) {
    long p1 = p0 + BLOCK < hw ? p0 + BLOCK : hw;
    for (long k = 0; k < cg; ++k) part[k] = 0.f;
    block_sq(p0, p1, c, cg, x, mean, part.data());
    for (long k = 0; k < cg; ++k) total[k] += part[k];
  }
  for (long k = 0; k < cg; ++k) rstd[k] = (float)(1.0 / std::sqrt(total[k] / hw + eps));
}
}  // namespace

void instance_norm_forward(long n, long hw, long c, const float* x, const float* gamma, const float* beta, float eps,
                           float alpha, float* y) {
  const long groups = channel_groups(n, c), cg = c / groups;
  parallel_for(n * groups, [&](long t, int) {
    long b = t / groups, c0 = (t % groups) * cg;
    std::vector<float> mean(cg), rstd(cg), scale(cg), shift(cg);
    const float* xb = x + b * hw * c + c0;
    float* yb = y + b * hw * c + c0;
    slice_stats(hw, c, cg, xb, eps, mean.data(), rstd.data());
    for (long k = 0; k < cg; ++k) {
      scale[k] = gamma[c0 + k] * rstd[k];
      shift[k] = beta[c0 + k] - mean[k] * scale[k];
    }
    affine_leaky(hw, c, cg, xb, scale.data(), shift.data(), alpha, yb);
  });
}

void instance_norm_backward(long n, long hw, long c, const float* x, const float* gamma, const float* beta, float eps,
                            float alpha, const float* dy, float* dx, float* dgamma, float* dbeta) {
  const long groups = channel_groups(n, c), cg = c / groups;
  // Per-sample partial gamma/beta gradients, summed in sample order afterwards.
  std::vector<double> dg((size_t)(n * c), 0.0), db((size_t)(n * c), 0.0);
  parallel_for(n * groups, [&](long t, int) {
    long b = t / groups, c0 = (t % groups) * cg;
    const float* xb = x + b * hw * c + c0;
    const float* dyb = dy + b * hw * c + c0;
    float* dxb = dx + b * hw * c + c0;
    std::vector<float> mean(cg), rstd(cg), g(cg), be(cg), part1(cg), part2(cg), k1(cg), k2(cg), k3(cg);
    std::vector<double> sdz(cg, 0.0), sdzx(cg, 0.0);
    slice_stats(hw, c, cg, xb, eps, mean.data(), rstd.data());
    for (long k = 0; k < cg; ++k) {
      g[k] = gamma[c0 + k];
      be[k] = beta[c0 + k];
    }
    const float *mu = mean.data(), *rs = rstd.data(), *gg = g.data(), *bb = be.data();
    float *s1 = part1.data(), *s2 = part2.data();
    // dz = dy * leaky'(z); sums of dz and dz * xhat per channel.
    for (long p0 = 0; p0 < hw; p0 += BLOCK) {
      long p1 = p0 + BLOCK < hw ? p0 + BLOCK : hw;
      for (long k = 0; k < cg; ++k) s1[k] = s2[k] = 0.f;
      block_grad_sums(p0, p1, c, cg, xb, dyb, mu, rs, gg, bb, alpha, s1, s2);
      for (long k = 0; k < cg; ++k) {
        sdz[k] += s1[k];
        sdzx[k] += s2[k];
      }
    }
    for (long k = 0; k < cg; ++k) {
      dg[b * c + c0 + k] = sdzx[k];
      db[b * c + c0 + k] = sdz[k];
      k1[k] = rs[k] * gg[k];
      k2[k] = (float)(sdz[k] / hw);
      k3[k] = (float)(sdzx[k] / hw);
    }
    // dx = rstd * gamma * (dz - mean(dz) - xhat * mean(dz * xhat)).
    grad_dx(hw, c, cg, xb, dyb, mu, rs, gg, bb, alpha, k1.data(), k2.data(), k3.data(), dxb);
  });
  for (long k = 0; k < c; ++k) {
    double gs = 0, bs = 0;
    for (long b = 0; b < n; ++b) {
      gs += dg[b * c + k];
      bs += db[b * c + k];
    }
    dgamma[k] = (float)gs;
    dbeta[k] = (float)bs;
  }
}
}  // namespace synthmri
