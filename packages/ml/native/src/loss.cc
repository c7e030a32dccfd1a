#include "loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "pool.h"

namespace synthmri {
namespace {
constexpr long PIXELS_PER_CHUNK = 4096;
}

// Pass 1 stores softmax(p) in dlogits and sums, per fixed pixel chunk (so the result does not depend on the thread
// count), the CE terms and the Dice sums I_c = sum p*g, S_c = sum p, G_c = sum g, and the per-pixel sum of g (the CE
// gradient is p * sum(g) - g, exact for soft labels too). Pass 2 turns p into the gradient in place:
//   dCE/dz = (p * sum_g - g) / N;  dDice term: q_c = -(1/F) (2 g_c / D_c - (2 I_c + s) / D_c^2), D_c = S_c + G_c + s,
//   through softmax: dz_k = p_k (q_k - sum_c p_c q_c).
float ce_dice_loss(long pixels, long classes, const float* logits, const float* onehot, float smooth, float* dlogits) {
  const long C = classes, chunks = std::max(1L, (pixels + PIXELS_PER_CHUNK - 1) / PIXELS_PER_CHUNK);
  const long stride = 1 + 3 * C;  // per chunk: ce, I[C], S[C], G[C]
  std::vector<double> part((size_t)(chunks * stride), 0.0);
  parallel_for(chunks, [&](long t, int) {
    const long p0 = t * PIXELS_PER_CHUNK, p1 = std::min(pixels, p0 + PIXELS_PER_CHUNK);
    double* acc = part.data() + t * stride;
    double ce = 0.0;
    for (long i = p0; i < p1; ++i) {
      const float* z = logits + i * C;
      const float* g = onehot + i * C;
      float* p = dlogits + i * C;
      float m = z[0];
      for (long c = 1; c < C; ++c) m = std::max(m, z[c]);
      double sum = 0.0;
      for (long c = 0; c < C; ++c) sum += std::exp((double)z[c] - m);
      const double logSum = std::log(sum);
      for (long c = 0; c < C; ++c) {
        const double logp = (double)z[c] - m - logSum;
        const double pc = std::exp(logp);
        p[c] = (float)pc;
        ce -= g[c] * logp;
        acc[1 + c] += pc * g[c];
        acc[1 + C + c] += pc;
        acc[1 + 2 * C + c] += g[c];
      }
    }
    acc[0] = ce;
  });
  std::vector<double> tot((size_t)stride, 0.0);
  for (long t = 0; t < chunks; ++t)
    for (long k = 0; k < stride; ++k) tot[k] += part[t * stride + k];
  const double* I = tot.data() + 1;
  const double* S = I + C;
  const double* G = S + C;
  const long F = C - 1;
  double diceMean = 0.0;
  std::vector<float> a((size_t)C, 0.f), b((size_t)C, 0.f);  // q_c = a_c * g_c + b_c
  for (long c = 1; c < C; ++c) {
    const double D = S[c] + G[c] + smooth, num = 2.0 * I[c] + smooth;
    diceMean += num / D / F;
    a[c] = (float)(-2.0 / (F * D));
    b[c] = (float)(num / (F * D * D));
  }
  const float invN = 1.f / (float)pixels;
  parallel_for(chunks, [&](long t, int) {
    const long p0 = t * PIXELS_PER_CHUNK, p1 = std::min(pixels, p0 + PIXELS_PER_CHUNK);
    float q[64];
    for (long i = p0; i < p1; ++i) {
      const float* g = onehot + i * C;
      float* p = dlogits + i * C;
      float gsum = 0.f, pq = 0.f;
      for (long c = 0; c < C; ++c) {
        q[c] = a[c] * g[c] + b[c];
        gsum += g[c];
        pq += p[c] * q[c];
      }
      for (long c = 0; c < C; ++c) p[c] = (p[c] * gsum - g[c]) * invN + p[c] * (q[c] - pq);
    }
  });
  return (float)(tot[0] / pixels + (1.0 - diceMean));
}
}  // namespace synthmri
