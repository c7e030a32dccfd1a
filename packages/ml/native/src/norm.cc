#include "norm.h"

#include <cmath>
#include <vector>

#include "pool.h"

namespace synthmri {
namespace {
// Per-channel mean and 1/sqrt(var + eps) of one sample; double accumulators keep the variance exact enough for
// large planes (240 x 240 pixels).
void stats(long hw, long c, const float* x, float eps, double* mean, float* rstd) {
  std::vector<double> sum(c, 0.0), sq(c, 0.0);
  for (long p = 0; p < hw; ++p) {
    const float* row = x + p * c;
    for (long k = 0; k < c; ++k) sum[k] += row[k];
  }
  for (long k = 0; k < c; ++k) mean[k] = sum[k] / hw;
  for (long p = 0; p < hw; ++p) {
    const float* row = x + p * c;
    for (long k = 0; k < c; ++k) {
      double d = row[k] - mean[k];
      sq[k] += d * d;
    }
  }
  for (long k = 0; k < c; ++k) rstd[k] = (float)(1.0 / std::sqrt(sq[k] / hw + eps));
}

// Splits (sample, channel-group) pairs into tasks so one sample still uses every thread.
long channel_groups(long n, long c) {
  long groups = 1;
  while (n * groups < 2L * get_threads() && c % (groups * 2) == 0 && c / (groups * 2) >= 8) groups *= 2;
  return groups;
}
}  // namespace

void instance_norm_forward(long n, long hw, long c, const float* x, const float* gamma, const float* beta, float eps,
                           float alpha, float* y) {
  const long groups = channel_groups(n, c), cg = c / groups;
  parallel_for(n * groups, [&](long t, int) {
    long b = t / groups, c0 = (t % groups) * cg;
    // Work on a channel slice: a strided view [hw x cg] with row stride c.
    std::vector<double> sum(cg, 0.0), sq(cg, 0.0), mean(cg);
    std::vector<float> scale(cg), shift(cg);
    const float* xb = x + b * hw * c + c0;
    float* yb = y + b * hw * c + c0;
    for (long p = 0; p < hw; ++p)
      for (long k = 0; k < cg; ++k) sum[k] += xb[p * c + k];
    for (long k = 0; k < cg; ++k) mean[k] = sum[k] / hw;
    for (long p = 0; p < hw; ++p)
      for (long k = 0; k < cg; ++k) {
        double d = xb[p * c + k] - mean[k];
        sq[k] += d * d;
      }
    for (long k = 0; k < cg; ++k) {
      float rstd = (float)(1.0 / std::sqrt(sq[k] / hw + eps));
      scale[k] = gamma[c0 + k] * rstd;
      shift[k] = beta[c0 + k] - (float)mean[k] * scale[k];
    }
    for (long p = 0; p < hw; ++p) {
      const float* xr = xb + p * c;
      float* yr = yb + p * c;
      for (long k = 0; k < cg; ++k) {
        float z = xr[k] * scale[k] + shift[k];
        yr[k] = z > 0.f ? z : alpha * z;
      }
    }
  });
}

void instance_norm_backward(long n, long hw, long c, const float* x, const float* gamma, const float* beta, float eps,
                            float alpha, const float* dy, float* dx, float* dgamma, float* dbeta) {
  const int workers = get_threads();
  std::vector<std::vector<double>> dg(workers, std::vector<double>(c, 0.0)), db(workers, std::vector<double>(c, 0.0));
  parallel_for(n, [&](long b, int worker) {
    const float* xb = x + b * hw * c;
    const float* dyb = dy + b * hw * c;
    float* dxb = dx + b * hw * c;
    std::vector<double> mean(c), sdz(c, 0.0), sdzx(c, 0.0);
    std::vector<float> rstd(c);
    stats(hw, c, xb, eps, mean.data(), rstd.data());
    // Pass 1: dz = dy * leaky'(z); accumulate sums of dz and dz * xhat.
    for (long p = 0; p < hw; ++p) {
      const float* xr = xb + p * c;
      const float* dr = dyb + p * c;
      for (long k = 0; k < c; ++k) {
        float xhat = (float)(xr[k] - mean[k]) * rstd[k];
        float z = gamma[k] * xhat + beta[k];
        float dz = z > 0.f ? dr[k] : alpha * dr[k];
        sdz[k] += dz;
        sdzx[k] += dz * xhat;
      }
    }
    for (long k = 0; k < c; ++k) {
      dg[worker][k] += sdzx[k];
      db[worker][k] += sdz[k];
    }
    // Pass 2: dx = rstd * gamma * (dz - mean(dz) - xhat * mean(dz * xhat)).
    for (long p = 0; p < hw; ++p) {
      const float* xr = xb + p * c;
      const float* dr = dyb + p * c;
      float* out = dxb + p * c;
      for (long k = 0; k < c; ++k) {
        float xhat = (float)(xr[k] - mean[k]) * rstd[k];
        float z = gamma[k] * xhat + beta[k];
        float dz = z > 0.f ? dr[k] : alpha * dr[k];
        out[k] = rstd[k] * gamma[k] * (dz - (float)(sdz[k] / hw) - xhat * (float)(sdzx[k] / hw));
      }
    }
  });
  for (long k = 0; k < c; ++k) {
    double g = 0, bsum = 0;
    for (int w = 0; w < workers; ++w) {
      g += dg[w][k];
      bsum += db[w][k];
    }
    dgamma[k] = (float)g;
    dbeta[k] = (float)bsum;
  }
}
}  // namespace synthmri
