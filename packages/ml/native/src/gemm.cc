#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "pool.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SYNTHMRI_AVX2 1
#endif

namespace synthmri {
namespace {
constexpr long MR = 6, NR = 16;  // register tile: 6 rows x 2 AVX vectors = 12 accumulators
constexpr long KC = 256;         // K block: a 16-wide B panel (16 KiB) stays in L1
constexpr long MC = 72;          // M block: packed A block (72 KiB) stays in L2
constexpr long NC = 2048;

void pack_a(long mc, long kc, const float* A, long rsA, long csA, float* out) {
  for (long i = 0; i < mc; i += MR) {
    long rows = std::min(MR, mc - i);
    for (long k = 0; k < kc; ++k) {
      const float* src = A + i * rsA + k * csA;
      long r = 0;
      for (; r < rows; ++r) out[r] = src[r * rsA];
      for (; r < MR; ++r) out[r] = 0.f;
      out += MR;
    }
  }
}

void pack_b(long kc, long nc, const float* B, long rsB, long csB, float* out) {
  for (long j = 0; j < nc; j += NR) {
    long cols = std::min(NR, nc - j);
    for (long k = 0; k < kc; ++k) {
      const float* src = B + k * rsB + j * csB;
      long c = 0;
      if (csB == 1) {
        std::memcpy(out, src, cols * sizeof(float));
        c = cols;
      } else {
        for (; c < cols; ++c) out[c] = src[c * csB];
      }
      for (; c < NR; ++c) out[c] = 0.f;
      out += NR;
    }
  }
}

// acc = Ap(MR x kc) * Bp(kc x NR), written to C with (rows, cols) clipping; add selects += over =.
void micro(long kc, const float* Ap, const float* Bp, float* C, long ldc, long rows, long cols, bool add) {
#ifdef SYNTHMRI_AVX2
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (long k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
    __m256 a;
    a = _mm256_broadcast_ss(Ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(Ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(Ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(Ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(Ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(Ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    Ap += MR;
    Bp += NR;
  }
  alignas(32) float acc[MR * NR];
  _mm256_store_ps(acc + 0, c00); _mm256_store_ps(acc + 8, c01);
  _mm256_store_ps(acc + 16, c10); _mm256_store_ps(acc + 24, c11);
  _mm256_store_ps(acc + 32, c20); _mm256_store_ps(acc + 40, c21);
  _mm256_store_ps(acc + 48, c30); _mm256_store_ps(acc + 56, c31);
  _mm256_store_ps(acc + 64, c40); _mm256_store_ps(acc + 72, c41);
  _mm256_store_ps(acc + 80, c50); _mm256_store_ps(acc + 88, c51);
#else
  float acc[MR * NR] = {0};
  for (long k = 0; k < kc; ++k) {
    for (long r = 0; r < MR; ++r)
      for (long c = 0; c < NR; ++c) acc[r * NR + c] += Ap[r] * Bp[c];
    Ap += MR;
    Bp += NR;
  }
#endif
  for (long r = 0; r < rows; ++r) {
    float* dst = C + r * ldc;
    const float* src = acc + r * NR;
    if (add)
      for (long c = 0; c < cols; ++c) dst[c] += src[c];
    else
      for (long c = 0; c < cols; ++c) dst[c] = src[c];
  }
}

#ifdef SYNTHMRI_AVX2
// Same tile as micro() but A is read in place from a row-major block (row stride lda, unit column stride) instead of
// a packed panel: when A is an im2col block already resident in cache (the conv paths), packing it cost as much as the
// FMAs for narrow layers (16-64 channels). Rows past `rows` alias row 0; their results are not stored.
void micro_rowmajor_a(long kc, const float* A, long lda, const float* Bp, float* C, long ldc, long rows, long cols,
                      bool add) {
  const float* a0 = A;
  const float* a1 = rows > 1 ? A + lda : A;
  const float* a2 = rows > 2 ? A + 2 * lda : A;
  const float* a3 = rows > 3 ? A + 3 * lda : A;
  const float* a4 = rows > 4 ? A + 4 * lda : A;
  const float* a5 = rows > 5 ? A + 5 * lda : A;
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (long k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
    __m256 a;
    a = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(a2 + k); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(a3 + k); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(a4 + k); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(a5 + k); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    Bp += NR;
  }
  alignas(32) float acc[MR * NR];
  _mm256_store_ps(acc + 0, c00); _mm256_store_ps(acc + 8, c01);
  _mm256_store_ps(acc + 16, c10); _mm256_store_ps(acc + 24, c11);
  _mm256_store_ps(acc + 32, c20); _mm256_store_ps(acc + 40, c21);
  _mm256_store_ps(acc + 48, c30); _mm256_store_ps(acc + 56, c31);
  _mm256_store_ps(acc + 64, c40); _mm256_store_ps(acc + 72, c41);
  _mm256_store_ps(acc + 80, c50); _mm256_store_ps(acc + 88, c51);
  for (long r = 0; r < rows; ++r) {
    float* dst = C + r * ldc;
    const float* src = acc + r * NR;
    if (add)
      for (long c = 0; c < cols; ++c) dst[c] += src[c];
    else
      for (long c = 0; c < cols; ++c) dst[c] = src[c];
  }
}
#endif
}  // namespace

namespace {
// The block loops shared by gemm and gemm_packed_b; next_b(jc, nc, pc, kc) yields the packed kc x nc panel of B.
template <class NextB>
void gemm_blocks(long M, long N, long K, const float* A, long rsA, long csA, float* C, long ldc, bool accumulate,
                 NextB next_b) {
  thread_local std::vector<float> abuf;
  long kcMax = std::min(KC, K);
  abuf.resize((size_t)(((std::min(MC, M) + MR - 1) / MR) * MR * kcMax));
  for (long jc = 0; jc < N; jc += NC) {
    long nc = std::min(NC, N - jc);
    for (long pc = 0; pc < K; pc += KC) {
      long kc = std::min(KC, K - pc);
      bool add = accumulate || pc > 0;
      const float* bpanel = next_b(jc, nc, pc, kc);
      for (long ic = 0; ic < M; ic += MC) {
        long mc = std::min(MC, M - ic);
#ifdef SYNTHMRI_AVX2
        if (csA == 1) {  // row-major A: read in place (see micro_rowmajor_a)
          for (long jr = 0; jr < nc; jr += NR) {
            const float* bp = bpanel + (jr / NR) * NR * kc;
            for (long ir = 0; ir < mc; ir += MR)
              micro_rowmajor_a(kc, A + (ic + ir) * rsA + pc, rsA, bp, C + (ic + ir) * ldc + jc + jr, ldc,
                               std::min(MR, mc - ir), std::min(NR, nc - jr), add);
          }
          continue;
        }
#endif
        pack_a(mc, kc, A + ic * rsA + pc * csA, rsA, csA, abuf.data());
        for (long jr = 0; jr < nc; jr += NR) {
          const float* bp = bpanel + (jr / NR) * NR * kc;
          for (long ir = 0; ir < mc; ir += MR) {
            micro(kc, abuf.data() + (ir / MR) * MR * kc, bp, C + (ic + ir) * ldc + jc + jr, ldc, std::min(MR, mc - ir),
                  std::min(NR, nc - jr), add);
          }
        }
      }
    }
  }
}

bool trivial(long M, long N, long K, float* C, long ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return true;
  if (K <= 0) {
    if (!accumulate)
      for (long i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
    return true;
  }
  return false;
}
}  // namespace

void gemm(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB, float* C, long ldc,
          bool accumulate) {
  if (trivial(M, N, K, C, ldc, accumulate)) return;
  thread_local std::vector<float> bbuf;
  bbuf.resize((size_t)(((std::min(NC, N) + NR - 1) / NR) * NR * std::min(KC, K)));
  gemm_blocks(M, N, K, A, rsA, csA, C, ldc, accumulate, [&](long jc, long nc, long pc, long kc) {
    pack_b(kc, nc, B + pc * rsB + jc * csB, rsB, csB, bbuf.data());
    return (const float*)bbuf.data();
  });
}

void pack_b_all(long K, long N, const float* B, long rsB, long csB, std::vector<float>& out) {
  long total = 0;
  for (long jc = 0; jc < N; jc += NC) total += ((std::min(NC, N - jc) + NR - 1) / NR) * NR * K;
  out.resize((size_t)total);
  // Tasks: one (NC block, K block) panel's columns in groups of STRIPS micro-panels. Panels lie in loop order (all K
  // blocks of the first NC columns, then the next NC columns); a strip j of panel (jc, pc) starts at jc*K + ncPad*pc
  // + j*kc. Layers' weights (up to 2.4 MB) were packed on the calling thread alone: a serial part of every conv.
  constexpr long STRIPS = 4;
  const long ncBlocks = (N + NC - 1) / NC, kBlocks = (K + KC - 1) / KC, groupsPerBlock = (NC / NR + STRIPS - 1) / STRIPS;
  float* base = out.data();
  auto pack_task = [&](long t) {
    long g = t % groupsPerBlock, rest = t / groupsPerBlock, pi = rest % kBlocks, ji = rest / kBlocks;
    long jc = ji * NC, pc = pi * KC, nc = std::min(NC, N - jc), kc = std::min(KC, K - pc);
    long ncPad = ((nc + NR - 1) / NR) * NR, j0 = g * STRIPS * NR;
    if (j0 >= nc) return;
    long cols = std::min(STRIPS * NR, nc - j0);
    pack_b(kc, cols, B + pc * rsB + (jc + j0) * csB, rsB, csB, base + jc * K + ncPad * pc + j0 * kc);
  };
  const long tasks = ncBlocks * kBlocks * groupsPerBlock;
  if (get_threads() == 1 || K * N < (1L << 16)) {
    for (long t = 0; t < tasks; ++t) pack_task(t);
    return;
  }
  parallel_for(tasks, [&](long t, int) { pack_task(t); });
}

void gemm_packed_b(long M, long N, long K, const float* A, long rsA, long csA, const float* Bp, float* C, long ldc,
                   bool accumulate) {
  if (trivial(M, N, K, C, ldc, accumulate)) return;
  gemm_blocks(M, N, K, A, rsA, csA, C, ldc, accumulate, [&](long jc, long nc, long pc, long kc) {
    // Panels lie in loop order: all K blocks of the first NC columns, then the next NC columns.
    long ncPad = ((nc + NR - 1) / NR) * NR;
    return Bp + jc * K + ncPad * pc;
  });
}
}  // namespace synthmri
