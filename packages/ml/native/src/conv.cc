#include "conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "pool.h"

namespace synthmri {
namespace {
bool is_pointwise(const ConvShape& s) {
  return s.kH == 1 && s.kW == 1 && s.sH == 1 && s.sW == 1 && s.padTop == 0 && s.padLeft == 0 && s.inH == s.outH &&
         s.inW == s.outW;
}

// Writes rows [row0, row0 + rows) of the im2col matrix (one row per output pixel, K = kH*kW*inC columns).
void im2col_rows(const ConvShape& s, const float* x, long row0, long rows, float* col) {
  const long K = s.kH * s.kW * s.inC, plane = s.outH * s.outW;
  for (long r = 0; r < rows; ++r) {
    long row = row0 + r, b = row / plane, p = row % plane, oy = p / s.outW, ox = p % s.outW;
    const float* img = x + b * s.inH * s.inW * s.inC;
    float* dst = col + r * K;
    for (long ky = 0; ky < s.kH; ++ky) {
      long iy = oy * s.sH - s.padTop + ky;
      for (long kx = 0; kx < s.kW; ++kx, dst += s.inC) {
        long ix = ox * s.sW - s.padLeft + kx;
        if (iy < 0 || iy >= s.inH || ix < 0 || ix >= s.inW)
          std::memset(dst, 0, s.inC * sizeof(float));
        else
          std::memcpy(dst, img + (iy * s.inW + ix) * s.inC, s.inC * sizeof(float));
      }
    }
  }
}

// dx rows [iy0, iy1) of one image from its column-gradient matrix (gather form: no two tasks write one pixel).
void col2im_rows(const ConvShape& s, const float* col, long iy0, long iy1, float* dx) {
  const long K = s.kH * s.kW * s.inC;
  for (long iy = iy0; iy < iy1; ++iy) {
    for (long ix = 0; ix < s.inW; ++ix) {
      float* out = dx + (iy * s.inW + ix) * s.inC;
      std::fill(out, out + s.inC, 0.f);
      for (long ky = 0; ky < s.kH; ++ky) {
        long ty = iy + s.padTop - ky;
        if (ty < 0 || ty % s.sH) continue;
        long oy = ty / s.sH;
        if (oy >= s.outH) continue;
        for (long kx = 0; kx < s.kW; ++kx) {
          long tx = ix + s.padLeft - kx;
          if (tx < 0 || tx % s.sW) continue;
          long ox = tx / s.sW;
          if (ox >= s.outW) continue;
          const float* src = col + (oy * s.outW + ox) * K + (ky * s.kW + kx) * s.inC;
          for (long c = 0; c < s.inC; ++c) out[c] += src[c];
        }
      }
    }
  }
}

// Per-call buffers (packed weights, flipped filters, the full im2col matrix, partial filter gradients), kept between
// calls: a fresh std::vector is zero-filled on the calling thread before any task starts (up to 32 MB for `full`),
// a serial part of every conv at 2+ threads. Kernels run from the one JS thread that drives the pool, never nested.
enum Scratch { PackedW, FlippedW, FullCol, PackedDy, PartialDw, SCRATCH_SLOTS };
std::vector<float>& scratch(Scratch slot) {
  static std::vector<float> buffers[SCRATCH_SLOTS];
  return buffers[slot];
}

constexpr long ROW_BLOCK = 144;  // output pixels per forward task: im2col block of 144 x K stays cache-resident
}  // namespace

// Output pixels per forward task: at most ROW_BLOCK, fewer on small deep layers (8x8, 16x16) so that every thread gets
// several tasks; the weights are packed once per call, so a smaller block costs no repacking.
static long forward_row_block(long M) {
  const long threads = get_threads();
  if (threads == 1) return ROW_BLOCK;
  long rows = (M + 4 * threads - 1) / (4 * threads);
  rows = ((rows + 5) / 6) * 6;  // whole micro-tiles
  return std::max(24L, std::min(ROW_BLOCK, rows));
}

void conv2d_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  const long M = s.n * s.outH * s.outW, K = s.kH * s.kW * s.inC;
  const long block = forward_row_block(M), tasks = (M + block - 1) / block;
  const bool pointwise = is_pointwise(s);
  std::vector<float>& wp = scratch(PackedW);
  pack_b_all(K, s.outC, w, s.outC, 1, wp);
  parallel_for(tasks, [&](long t, int) {
    long row0 = t * block, rows = std::min(block, M - row0);
    const float* a = x + row0 * s.inC;
    thread_local std::vector<float> col;
    if (!pointwise) {
      col.resize((size_t)(ROW_BLOCK * K));
      im2col_rows(s, x, row0, rows, col.data());
      a = col.data();
    }
    gemm_packed_b(rows, s.outC, K, a, K, 1, wp.data(), y + row0 * s.outC, s.outC, false);
  });
}

void conv2d_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const long M = s.n * s.outH * s.outW, K = s.kH * s.kW * s.inC, block = 256;
  const long tasks = (M + block - 1) / block;
  const int workers = get_threads();
  const bool pointwise = is_pointwise(s);
  // Deep layers (8x8, 16x16) have few output pixels and wide K x outC: too few pixel blocks to share among threads
  // (one at 8x8), so split the filter gradient's rows instead, over a full im2col matrix. Each dW row block is one
  // gemm over all M: no partial sums. The choice depends on the shape only, so results do not depend on the threads.
  if (tasks < 8 && M * K <= (8L << 20)) {
    std::vector<float>& full = scratch(FullCol);
    const float* a = x;
    if (!pointwise) {
      full.resize((size_t)(M * K));
      const long colTasks = (M + ROW_BLOCK - 1) / ROW_BLOCK;
      parallel_for(colTasks, [&](long t, int) {
        long row0 = t * ROW_BLOCK, rows = std::min(ROW_BLOCK, M - row0);
        im2col_rows(s, x, row0, rows, full.data() + row0 * K);
      });
      a = full.data();
    }
    std::vector<float>& dyp = scratch(PackedDy);
    pack_b_all(M, s.outC, dy, s.outC, 1, dyp);
    const long kBlock = std::max(6L, ((K + 4 * workers - 1) / (4 * workers) + 5) / 6 * 6);
    const long kTasks = (K + kBlock - 1) / kBlock;
    parallel_for(kTasks, [&](long t, int) {
      long k0 = t * kBlock, kr = std::min(kBlock, K - k0);
      // dW[k0 : k0 + kr, :] = col[:, k0 : k0 + kr]^T * dy
      gemm_packed_b(kr, s.outC, M, a + k0, 1, K, dyp.data(), dw + k0 * s.outC, s.outC, false);
    });
    return;
  }
  // Large layers: pixel blocks in a fixed number of groups, each summed in order into its own partial dW, then the
  // partials in group order, so the result never depends on the thread count or on which worker ran which block.
  // groups from perGroup, not min(tasks, 8): 9 blocks in 8 groups of 2 left 3 groups empty, and their stale partials
  // (the scratch buffer of an earlier call) were added into dW.
  const long perGroup = (tasks + 7) / 8, groups = (tasks + perGroup - 1) / perGroup;
  // Every group's first block overwrites its partial (accumulate = false): no zero fill needed.
  std::vector<float>& partial = scratch(PartialDw);
  partial.resize((size_t)(groups * K * s.outC));
  parallel_for(groups, [&](long gi, int) {
    float* acc = partial.data() + gi * K * s.outC;
    thread_local std::vector<float> col;
    for (long t = gi * perGroup; t < std::min(tasks, (gi + 1) * perGroup); ++t) {
      long row0 = t * block, rows = std::min(block, M - row0);
      const float* a = x + row0 * s.inC;
      if (!pointwise) {
        col.resize((size_t)(block * K));
        im2col_rows(s, x, row0, rows, col.data());
        a = col.data();
      }
      // dW[K x outC] (+)= col^T[K x rows] * dy[rows x outC]
      gemm(K, s.outC, rows, a, 1, K, dy + row0 * s.outC, s.outC, 1, acc, s.outC, t > gi * perGroup);
    }
  });
  const long n = K * s.outC;
  const long sumTasks = std::max(1L, std::min<long>(64, n / 16384));
  parallel_for(sumTasks, [&](long t, int) {
    for (long i = n * t / sumTasks; i < n * (t + 1) / sumTasks; ++i) {
      float v = partial[i];
      for (long g = 1; g < groups; ++g) v += partial[g * n + i];
      dw[i] = v;
    }
  });
}

void conv2d_backprop_input(const ConvShape& s, const float* dy, const float* w, float* dx) {
  const long K = s.kH * s.kW * s.inC, plane = s.outH * s.outW, inPlane = s.inH * s.inW * s.inC;
  if (is_pointwise(s)) {
    const long M = s.n * plane, tasks = (M + ROW_BLOCK - 1) / ROW_BLOCK;
    parallel_for(tasks, [&](long t, int) {
      long row0 = t * ROW_BLOCK, rows = std::min(ROW_BLOCK, M - row0);
      gemm(rows, s.inC, s.outC, dy + row0 * s.outC, s.outC, 1, w, 1, s.outC, dx + row0 * s.inC, s.inC, false);
    });
    return;
  }
  // Stride 1: dx is the forward convolution of dy with the filter rotated 180 degrees and its channel axes swapped,
  // padded by k-1-pad. That reuses the cache-blocked forward path; the col2im route below builds a plane x K column
  // matrix per image (9 MB at 128x128x144) and took ~2x the forward time.
  if (s.sH == 1 && s.sW == 1 && s.padTop <= s.kH - 1 && s.padLeft <= s.kW - 1) {
    std::vector<float>& wf = scratch(FlippedW);
    wf.resize((size_t)(s.kH * s.kW * s.inC * s.outC));
    // One task per filter tap (a strided transpose of inC x outC): serial, this was ~1/3 of the calling thread's own
    // time in the deep layers' input gradient.
    auto flip_tap = [&](long tap) {
      const long ky = tap / s.kW, kx = tap % s.kW;
      const float* src = w + ((s.kH - 1 - ky) * s.kW + (s.kW - 1 - kx)) * s.inC * s.outC;
      float* dst = wf.data() + tap * s.outC * s.inC;
      for (long ci = 0; ci < s.inC; ++ci)
        for (long co = 0; co < s.outC; ++co) dst[co * s.inC + ci] = src[ci * s.outC + co];
    };
    if ((long)wf.size() < (1L << 16))
      for (long tap = 0; tap < s.kH * s.kW; ++tap) flip_tap(tap);
    else
      parallel_for(s.kH * s.kW, [&](long tap, int) { flip_tap(tap); });
    ConvShape t{s.n, s.outH, s.outW, s.outC, s.inH, s.inW, s.inC, s.kH, s.kW, 1, 1, s.kH - 1 - s.padTop,
                s.kW - 1 - s.padLeft};
    conv2d_forward(t, dy, wf.data(), dx);
    return;
  }
  // cols[plane x K] = dy_b[plane x outC] * W^T, then gathered into dx_b.
  const int threads = get_threads();
  if (s.n >= threads) {
    parallel_for(s.n, [&](long b, int) {
      thread_local std::vector<float> col;
      col.resize((size_t)(plane * K));
      gemm(plane, K, s.outC, dy + b * plane * s.outC, s.outC, 1, w, 1, s.outC, col.data(), K, false);
      col2im_rows(s, col.data(), 0, s.inH, dx + b * inPlane);
    });
    return;
  }
  std::vector<float>& col = scratch(FullCol);
  col.resize((size_t)(plane * K));
  for (long b = 0; b < s.n; ++b) {
    const long tasks = (plane + ROW_BLOCK - 1) / ROW_BLOCK;
    parallel_for(tasks, [&](long t, int) {
      long row0 = t * ROW_BLOCK, rows = std::min(ROW_BLOCK, plane - row0);
      gemm(rows, K, s.outC, dy + (b * plane + row0) * s.outC, s.outC, 1, w, 1, s.outC, col.data() + row0 * K, K, false);
    });
    const long rowTasks = std::min<long>(s.inH, threads * 4);
    parallel_for(rowTasks, [&](long t, int) {
      long iy0 = s.inH * t / rowTasks, iy1 = s.inH * (t + 1) / rowTasks;
      col2im_rows(s, col.data(), iy0, iy1, dx + b * inPlane);
    });
  }
}

void batch_matmul(long batchA, long batchB, long M, long N, long K, bool transA, bool transB, const float* A, const float* B,
                  float* C) {
  const long batch = std::max(batchA, batchB), MB = 96, NB = 512;
  const long mBlocks = (M + MB - 1) / MB, nBlocks = (N + NB - 1) / NB;
  const long rsA = transA ? 1 : K, csA = transA ? M : 1, rsB = transB ? 1 : N, csB = transB ? K : 1;
  parallel_for(batch * mBlocks * nBlocks, [&](long t, int) {
    long b = t / (mBlocks * nBlocks), rem = t % (mBlocks * nBlocks), mi = rem / nBlocks, ni = rem % nBlocks;
    long m0 = mi * MB, n0 = ni * NB, mc = std::min(MB, M - m0), nc = std::min(NB, N - n0);
    const float* a = A + (batchA == 1 ? 0 : b) * M * K + m0 * rsA;
    const float* bb = B + (batchB == 1 ? 0 : b) * K * N + n0 * csB;
    gemm(mc, nc, K, a, rsA, csA, bb, rsB, csB, C + b * M * N + m0 * N + n0, N, false);
  });
}
}  // namespace synthmri
