// Built with -ffp-contract=off (binding.gyp): the optimizer updates must round every product and sum to float32
// exactly as the tfjs op-by-op graph does, so a fused multiply-add would change results.
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "pool.h"

namespace synthmri {
namespace {
constexpr long CHUNK = 1L << 15;  // elements per task for elementwise work: big enough to amortise a pool wake-up

long tasks_for(long n) { return n < 2 * CHUNK ? 1 : (n + CHUNK - 1) / CHUNK; }

template <int OP>
inline float apply(float x, float y) {
  if (OP == 0) return x + y;
  if (OP == 1) return x - y;
  if (OP == 2) return x * y;
  return x / y;
}

template <int OP>
void binary_run(long n, const float* a, long sa, const float* b, long sb, float* out) {
  if (sa == 1 && sb == 1)
    for (long i = 0; i < n; ++i) out[i] = apply<OP>(a[i], b[i]);
  else if (sb == 0) {
    const float y = b[0];
    if (sa == 1)
      for (long i = 0; i < n; ++i) out[i] = apply<OP>(a[i], y);
    else
      for (long i = 0; i < n; ++i) out[i] = apply<OP>(a[i * sa], y);
  } else if (sa == 0) {
    const float x = a[0];
    if (sb == 1)
      for (long i = 0; i < n; ++i) out[i] = apply<OP>(x, b[i]);
    else
      for (long i = 0; i < n; ++i) out[i] = apply<OP>(x, b[i * sb]);
  } else
    for (long i = 0; i < n; ++i) out[i] = apply<OP>(a[i * sa], b[i * sb]);
}

template <int OP>
void binary_impl(int rank, const long* dims, const long* as, const long* bs, const float* a, const float* b,
                 float* out) {
  const long inner = dims[rank - 1], sa = as[rank - 1], sb = bs[rank - 1];
  long outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= dims[d];
  // Tasks split the outer rows, or (one outer row) the inner run itself.
  if (outer == 1) {
    const long tasks = tasks_for(inner);
    parallel_for(tasks, [&](long t, int) {
      long i0 = inner * t / tasks, i1 = inner * (t + 1) / tasks;
      binary_run<OP>(i1 - i0, a + i0 * sa, sa, b + i0 * sb, sb, out + i0);
    });
    return;
  }
  const long tasks = std::min(outer, tasks_for(outer * inner));
  parallel_for(tasks, [&](long t, int) {
    long r0 = outer * t / tasks, r1 = outer * (t + 1) / tasks;
    for (long r = r0; r < r1; ++r) {
      long ia = 0, ib = 0, rem = r;
      for (int d = rank - 2; d >= 0; --d) {
        long i = rem % dims[d];
        rem /= dims[d];
        ia += i * as[d];
        ib += i * bs[d];
      }
      binary_run<OP>(inner, a + ia, sa, b + ib, sb, out + r * inner);
    }
  });
}
}  // namespace

void binary_strided(int op, int rank, const long* dims, const long* as, const long* bs, const float* a, const float* b,
                    float* out) {
  switch (op) {
    case 0: binary_impl<0>(rank, dims, as, bs, a, b, out); break;
    case 1: binary_impl<1>(rank, dims, as, bs, a, b, out); break;
    case 2: binary_impl<2>(rank, dims, as, bs, a, b, out); break;
    default: binary_impl<3>(rank, dims, as, bs, a, b, out); break;
  }
}

void transpose(int rank, const long* shape, const int* perm, const float* x, float* out) {
  // Merge output axes that are adjacent and in order in the input too ([.., i, i+1, ..] in perm), drop size-1 axes.
  std::vector<long> inStride(rank);
  long s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    inStride[d] = s;
    s *= shape[d];
  }
  const long total = s;
  if (total == 0) return;
  std::vector<long> dims, strides;  // output dims and the input stride of each
  int prev = -2;
  for (int d = 0; d < rank; ++d) {
    int src = perm[d];
    if (shape[src] == 1) continue;
    if (!dims.empty() && src == prev + 1 && strides.back() == inStride[src] * shape[src]) {
      dims.back() *= shape[src];
      strides.back() = inStride[src];
    } else {
      dims.push_back(shape[src]);
      strides.push_back(inStride[src]);
    }
    prev = src;
  }
  if (dims.empty()) {
    out[0] = x[0];
    return;
  }
  const int r = (int)dims.size();
  const long inner = dims[r - 1], innerStride = strides[r - 1];
  const long rows = total / inner;
  const long tasks = std::min(rows, tasks_for(total));
  parallel_for(tasks, [&](long t, int) {
    long r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
    for (long row = r0; row < r1; ++row) {
      long src = 0, rem = row;
      for (int d = r - 2; d >= 0; --d) {
        src += (rem % dims[d]) * strides[d];
        rem /= dims[d];
      }
      float* dst = out + row * inner;
      if (innerStride == 1)
        std::memcpy(dst, x + src, inner * sizeof(float));
      else
        for (long i = 0; i < inner; ++i) dst[i] = x[src + i * innerStride];
    }
  });
}

void copy_rows(const float* src, long sOff, long sStride, float* dst, long dOff, long dStride, long rows, long width) {
  const long tasks = std::min(rows, tasks_for(rows * width));
  parallel_for(tasks, [&](long t, int) {
    long r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
    for (long r = r0; r < r1; ++r) std::memcpy(dst + dOff + r * dStride, src + sOff + r * sStride, width * sizeof(float));
  });
}

// A plain function with restrict parameters so the column loop vectorises (it did not inside the pool's lambda).
static void column_sums(const float* __restrict x, long rows, long stride, long w, double* __restrict acc) {
  for (long r = 0; r < rows; ++r) {
    const float* row = x + r * stride;
    for (long k = 0; k < w; ++k) acc[k] += row[k];
  }
}

void sum2d(const float* x, long rows, long cols, bool reduceRows, float* out) {
  if (reduceRows && cols <= 4096) {
    // Bias gradients ([pixels, channels] summed per channel): row chunks, each summed top to bottom into its own
    // double partial, added in chunk order. Each task streams its rows once; the former split by columns made every
    // task read the whole matrix (16 passes over 4 MB for 16 channels, and no speed-up from a second thread). The
    // chunks depend on the shape only, so the result does not depend on the thread count; one chunk is the plain
    // running sum, and doubles keep the difference below float32 rounding.
    const long chunks = std::max(1L, std::min(std::min(rows, 64L), tasks_for(rows * cols)));
    std::vector<double> part((size_t)(chunks * cols), 0.0);
    parallel_for(chunks, [&](long t, int) {
      long r0 = rows * t / chunks, r1 = rows * (t + 1) / chunks;
      column_sums(x + r0 * cols, r1 - r0, cols, cols, part.data() + t * cols);
    });
    for (long c = 0; c < cols; ++c) {
      double v = part[(size_t)c];
      for (long t = 1; t < chunks; ++t) v += part[(size_t)(t * cols + c)];
      out[c] = (float)v;
    }
    return;
  }
  if (reduceRows) {
    // Very wide rows: column groups of at least 64 (whole cache lines), each summed top to bottom.
    const long tasks = std::max(1L, std::min((cols + 63) / 64, tasks_for(rows * cols)));
    parallel_for(tasks, [&](long t, int) {
      long c0 = cols * t / tasks, c1 = cols * (t + 1) / tasks, w = c1 - c0;
      std::vector<double> acc((size_t)w, 0.0);
      column_sums(x + c0, rows, cols, w, acc.data());
      for (long k = 0; k < w; ++k) out[c0 + k] = (float)acc[k];
    });
    return;
  }
  const long tasks = std::min(rows, tasks_for(rows * cols));
  parallel_for(tasks, [&](long t, int) {
    long r0 = rows * t / tasks, r1 = rows * (t + 1) / tasks;
    for (long r = r0; r < r1; ++r) {
      const float* row = x + r * cols;
      double s = 0.0;
      for (long k = 0; k < cols; ++k) s += row[k];
      out[r] = (float)(0.0 + s);
    }
  });
}

// In-place bias (per column, optional) and activation, with the JS fused kernels' arithmetic: the bias sum is a
// float32 addition, leaky's slope multiplies in double (alpha is a JS number) and rounds once, relu maps -0 to +0 and
// keeps NaN (Math.max), relu6 clamps as Math.min(Math.max(z, 0), 6).
static void bias_act_rows(long r0, long r1, long c, float* __restrict y, const float* __restrict b, int mode,
                          double alpha) {
  for (long r = r0; r < r1; ++r) {
    float* yr = y + r * c;
    if (b != nullptr)
      for (long k = 0; k < c; ++k) yr[k] = yr[k] + b[k];
    if (mode == 1)
      for (long k = 0; k < c; ++k) yr[k] = (yr[k] > 0.f || yr[k] != yr[k]) ? yr[k] : 0.f;
    else if (mode == 2)
      for (long k = 0; k < c; ++k) {
        float z = (yr[k] > 0.f || yr[k] != yr[k]) ? yr[k] : 0.f;
        yr[k] = z > 6.f ? 6.f : z;
      }
    else if (mode == 3)
      for (long k = 0; k < c; ++k) yr[k] = yr[k] > 0.f ? yr[k] : (float)(alpha * (double)yr[k]);
  }
}

void bias_activation_inplace(long rows, long c, float* y, const float* b, int mode, double alpha) {
  const long tasks = std::min(rows, tasks_for(rows * c));
  parallel_for(tasks, [&](long t, int) { bias_act_rows(rows * t / tasks, rows * (t + 1) / tasks, c, y, b, mode, alpha); });
}

static void bias_leaky_rows(long r0, long r1, long c, const float* __restrict x, const float* __restrict b, float alpha,
                            float* __restrict y) {
  for (long r = r0; r < r1; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (long k = 0; k < c; ++k) {
      float z = xr[k] + b[k];
      float s = z > 0.f ? 1.f : alpha;
      yr[k] = z * s;
    }
  }
}

static void leaky_grad_rows(long r0, long r1, long c, const float* __restrict y, const float* __restrict dy, float alpha,
                            float* __restrict dx, double* __restrict acc) {
  for (long r = r0; r < r1; ++r) {
    const float* yr = y + r * c;
    const float* dr = dy + r * c;
    float* out = dx + r * c;
    for (long k = 0; k < c; ++k) {
      float s = yr[k] > 0.f ? 1.f : alpha;
      float d = dr[k] * s;
      out[k] = d;
      acc[k] += d;
    }
  }
}

void bias_leaky_forward(long rows, long c, const float* x, const float* b, float alpha, float* y) {
  const long tasks = std::min(rows, tasks_for(rows * c));
  parallel_for(tasks, [&](long t, int) { bias_leaky_rows(rows * t / tasks, rows * (t + 1) / tasks, c, x, b, alpha, y); });
}

void bias_leaky_backward(long rows, long c, const float* y, const float* dy, float alpha, float* dx, float* db) {
  // Fixed row chunks (not per worker) so the bias gradient's summation order never depends on the thread count.
  const long chunks = std::max(1L, std::min(rows, (rows * c) / CHUNK));
  std::vector<double> part((size_t)(chunks * c), 0.0);
  parallel_for(chunks, [&](long t, int) {
    leaky_grad_rows(rows * t / chunks, rows * (t + 1) / chunks, c, y, dy, alpha, dx, part.data() + t * c);
  });
  for (long k = 0; k < c; ++k) {
    double s = 0.0;
    for (long t = 0; t < chunks; ++t) s += part[t * c + k];
    db[k] = (float)s;
  }
}

// One scaled copy of a row (scale != 1): a float32 product, as tf.mul by the scalar rounds it.
static void scaled_copy(const float* __restrict src, long n, float scale, float* __restrict dst) {
  for (long k = 0; k < n; ++k) dst[k] = src[k] * scale;
}

static void bias_tanh_rows(long r0, long r1, long c, const float* __restrict x, const float* __restrict b,
                           float* __restrict y) {
  for (long r = r0; r < r1; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    for (long k = 0; k < c; ++k) yr[k] = std::tanh(xr[k] + b[k]);
  }
}

// tfjs' tanh gradient in its float32 order: dy * (1 - y*y).
static void tanh_grad_rows(long r0, long r1, long c, const float* __restrict y, const float* __restrict dy,
                           float* __restrict dx, double* __restrict acc) {
  for (long r = r0; r < r1; ++r) {
    const float* yr = y + r * c;
    const float* dr = dy + r * c;
    float* out = dx + r * c;
    for (long k = 0; k < c; ++k) {
      float sq = yr[k] * yr[k];
      float d = dr[k] * (1.f - sq);
      out[k] = d;
      acc[k] += d;
    }
  }
}

void bias_tanh_forward(long rows, long c, const float* x, const float* b, float* y) {
  const long tasks = std::min(rows, tasks_for(rows * c));
  parallel_for(tasks, [&](long t, int) { bias_tanh_rows(rows * t / tasks, rows * (t + 1) / tasks, c, x, b, y); });
}

void bias_tanh_backward(long rows, long c, const float* y, const float* dy, float* dx, float* db) {
  // Fixed row chunks, as in bias_leaky_backward: the bias gradient does not depend on the thread count.
  const long chunks = std::max(1L, std::min(rows, (rows * c) / CHUNK));
  std::vector<double> part((size_t)(chunks * c), 0.0);
  parallel_for(chunks, [&](long t, int) {
    tanh_grad_rows(rows * t / chunks, rows * (t + 1) / chunks, c, y, dy, dx, part.data() + t * c);
  });
  for (long k = 0; k < c; ++k) {
    double s = 0.0;
    for (long t = 0; t < chunks; ++t) s += part[t * c + k];
    db[k] = (float)s;
  }
}

// Plain functions with restrict parameters so the channel loops vectorise (see column_sums).
static void bias_leaky_pool_cell(long c, const float* __restrict top, const float* __restrict bottom,
                                 const float* __restrict b, float alpha, float* __restrict o) {
  const float *p = top, *q = top + c, *u = bottom, *v = bottom + c;
  for (long k = 0; k < c; ++k) {
    float z0 = p[k] + b[k], z1 = q[k] + b[k], z2 = u[k] + b[k], z3 = v[k] + b[k];
    float y0 = z0 * (z0 > 0.f ? 1.f : alpha), y1 = z1 * (z1 > 0.f ? 1.f : alpha);
    float y2 = z2 * (z2 > 0.f ? 1.f : alpha), y3 = z3 * (z3 > 0.f ? 1.f : alpha);
    o[k] = (float)(0.25 * ((((double)y0 + y1) + y2) + y3));
  }
}

static void bias_leaky_pool_grad_pixel(long c, const float* __restrict g, const float* __restrict x,
                                       const float* __restrict b, float alpha, float* __restrict dx,
                                       double* __restrict acc) {
  for (long k = 0; k < c; ++k) {
    float z = x[k] + b[k];
    float d = (g[k] * 0.25f) * (z > 0.f ? 1.f : alpha);
    dx[k] = d;
    acc[k] += d;
  }
}

// avgPool2x2(leaky(x + b)) over NHWC x [n, 2h, 2w, c], with the unfused kernels' float32 arithmetic (bias_leaky_rows,
// then upsample_grad_row at scale 1/4): one read of x instead of a full-size y written and read back.
void bias_leaky_pool_forward(long n, long h, long w, long c, const float* x, const float* b, float alpha, float* y) {
  const long rows = n * h;
  const long tasks = std::min(rows, tasks_for(rows * w * c * 4));
  parallel_for(tasks, [&](long t, int) {
    for (long r = rows * t / tasks; r < rows * (t + 1) / tasks; ++r) {
      const float* x0 = x + (2 * r) * (2 * w) * c;
      const float* x1 = x0 + 2 * w * c;
      float* out = y + r * w * c;
      for (long j = 0; j < w; ++j) bias_leaky_pool_cell(c, x0 + 2 * j * c, x1 + 2 * j * c, b, alpha, out + j * c);
    }
  });
}

// Its gradient: dx = (dy_pooled * 1/4) * (x + b > 0 ? 1 : alpha), db = column sums of dx, over the same fixed row chunks
// as bias_leaky_backward (so equal to spread + biasLeakyGrad bit for bit, at any thread count).
void bias_leaky_pool_backward(long n, long h, long w, long c, const float* x, const float* b, const float* dy, float alpha,
                              float* dx, float* db) {
  const long W = 2 * w, rows = n * 2 * h * W;
  const long chunks = std::max(1L, std::min(rows, (rows * c) / CHUNK));
  std::vector<double> part((size_t)(chunks * c), 0.0);
  parallel_for(chunks, [&](long t, int) {
    double* acc = part.data() + t * c;
    for (long r = rows * t / chunks; r < rows * (t + 1) / chunks; ++r) {
      const long X = r % W, Y = (r / W) % (2 * h), img = r / (W * 2 * h);
      bias_leaky_pool_grad_pixel(c, dy + ((img * h + Y / 2) * w + X / 2) * c, x + r * c, b, alpha, dx + r * c, acc);
    }
  });
  for (long k = 0; k < c; ++k) {
    double s = 0.0;
    for (long t = 0; t < chunks; ++t) s += part[t * c + k];
    db[k] = (float)s;
  }
}

void upsample2x(long n, long h, long w, long c, const float* x, float* y, float scale) {
  const long rows = n * h;  // one input row -> two output rows
  const long tasks = std::min(rows, tasks_for(rows * w * c * 4));
  parallel_for(tasks, [&](long t, int) {
    for (long r = rows * t / tasks; r < rows * (t + 1) / tasks; ++r) {
      const float* src = x + r * w * c;
      float* d0 = y + (2 * r) * (2 * w) * c;
      float* d1 = d0 + 2 * w * c;
      for (long j = 0; j < w; ++j) {
        if (scale == 1.f)
          std::memcpy(d0 + (2 * j) * c, src + j * c, c * sizeof(float));
        else
          scaled_copy(src + j * c, c, scale, d0 + (2 * j) * c);
        std::memcpy(d0 + (2 * j + 1) * c, d0 + (2 * j) * c, c * sizeof(float));
      }
      std::memcpy(d1, d0, 2 * w * c * sizeof(float));
    }
  });
}

static void upsample_grad_row(long w, long c, const float* __restrict d0, const float* __restrict d1,
                              float* __restrict out, double scale) {
  for (long j = 0; j < w; ++j) {
    const float *a = d0 + 2 * j * c, *b = a + c, *e = d1 + 2 * j * c, *f = e + c;
    float* o = out + j * c;
    if (scale == 1.0)
      for (long k = 0; k < c; ++k) o[k] = (float)((((double)a[k] + b[k]) + e[k]) + f[k]);
    else
      for (long k = 0; k < c; ++k) o[k] = (float)(scale * (((double)a[k] + b[k]) + e[k] + f[k]));
  }
}

void upsample2x_grad(long n, long h, long w, long c, const float* dy, float* dx, float scale) {
  const long rows = n * h;
  const long tasks = std::min(rows, tasks_for(rows * w * c * 4));
  parallel_for(tasks, [&](long t, int) {
    for (long r = rows * t / tasks; r < rows * (t + 1) / tasks; ++r) {
      const float* d0 = dy + (2 * r) * (2 * w) * c;
      upsample_grad_row(w, c, d0, d0 + 2 * w * c, dx + r * w * c, (double)scale);
    }
  });
}

void sgd_nesterov_update(long n, float* p, const float* g, float* v, float lr, float momentum, float wd) {
  const long tasks = tasks_for(n);
  parallel_for(tasks, [&](long t, int) {
    long i0 = n * t / tasks, i1 = n * (t + 1) / tasks;
    for (long i = i0; i < i1; ++i) {
      float gi = wd != 0.f ? g[i] + p[i] * wd : g[i];
      float vi = v[i] * momentum + gi;
      v[i] = vi;
      p[i] = p[i] - (gi + vi * momentum) * lr;
    }
  });
}

void adam_update(long n, float* p, const float* g, float* m, float* v, float lr, float b1, float oneMinusB1, float b2,
                 float oneMinusB2, float c1, float c2, float eps) {
  const long tasks = tasks_for(n);
  parallel_for(tasks, [&](long t, int) {
    long i0 = n * t / tasks, i1 = n * (t + 1) / tasks;
    for (long i = i0; i < i1; ++i) {
      float gi = g[i];
      float mi = m[i] * b1 + gi * oneMinusB1;
      float vi = v[i] * b2 + (gi * gi) * oneMinusB2;
      m[i] = mi;
      v[i] = vi;
      float mHat = mi / c1, vHat = vi / c2;
      p[i] = p[i] - (mHat / (std::sqrt(vHat) + eps)) * lr;
    }
  });
}
}  // namespace synthmri
