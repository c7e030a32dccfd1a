#pragma once
// Memory-bound helpers: N-d transpose, broadcasting binary ops, and in-place optimizer updates.
namespace synthmri {
// out = x transposed by perm; shape/perm have `rank` entries (shape is x's shape).
void transpose(int rank, const long* shape, const int* perm, const float* x, float* out);

// out[i] = a[ia] op b[ib] over `rank` merged output dims with per-operand strides (0 = broadcast).
// op: 0 add, 1 sub, 2 mul, 3 div.
void binary_strided(int op, int rank, const long* dims, const long* aStrides, const long* bStrides, const float* a,
                    const float* b, float* out);

// dst[dOff + r*dStride + k] = src[sOff + r*sStride + k] for r < rows, k < width (concat, split, slices of rows).
void copy_rows(const float* src, long sOff, long sStride, float* dst, long dOff, long dStride, long rows, long width);

// Sums of a row-major [rows x cols] matrix in double: reduceRows: out[c] = sum over r (running sums down each column
// over fixed row chunks, added in chunk order: within float32 rounding of the JS reduction, the same at any thread
// count); else out[r] = sum over c of row r, in the JS reduction's order.
void sum2d(const float* x, long rows, long cols, bool reduceRows, float* out);

// In place over [rows x c]: y = act(y + b) (b per column, or null: no bias); mode 0 linear, 1 relu, 2 relu6, 3 leaky
// (slope alpha). Same float32 results as the JS loops of the fused conv / matmul kernels, on the pool.
void bias_activation_inplace(long rows, long c, float* y, const float* b, int mode, double alpha);

// y = leaky(x + b) over [rows x c] (b per column), alpha the negative slope.
void bias_leaky_forward(long rows, long c, const float* x, const float* b, float alpha, float* y);
// dx = dy * (y > 0 ? 1 : alpha); db = column sums of dx (double, fixed order: independent of the thread count).
void bias_leaky_backward(long rows, long c, const float* y, const float* dy, float alpha, float* dx, float* db);

// y = tanh(x + b) over [rows x c] (b per column); backward dx = dy * (1 - y*y) (tfjs' float32 order) and db = column
// sums of dx (double, fixed order: independent of the thread count).
void bias_tanh_forward(long rows, long c, const float* x, const float* b, float* y);
void bias_tanh_backward(long rows, long c, const float* y, const float* dy, float* dx, float* db);

// avgPool2x2(leaky(x + b)) of NHWC x [n, 2h, 2w, c] (h, w the pooled side) and its gradient for x and b, with the
// float32 arithmetic of bias_leaky_forward + upsample2x_grad(1/4) and of upsample2x(1/4) + bias_leaky_backward.
void bias_leaky_pool_forward(long n, long h, long w, long c, const float* x, const float* b, float alpha, float* y);
void bias_leaky_pool_backward(long n, long h, long w, long c, const float* x, const float* b, const float* dy, float alpha,
                              float* dx, float* db);

// Nearest-neighbour 2x upsampling of NHWC [n, h, w, c] to [n, 2h, 2w, c] times `scale` (a float32 product), and its
// adjoint: scale times the sum of each 2x2 block (in the stock resize gradient's order, in double, rounded once). With
// scale 1/4 the adjoint is 2x2 average pooling; the two are each other's gradient.
void upsample2x(long n, long h, long w, long c, const float* x, float* y, float scale = 1.f);
void upsample2x_grad(long n, long h, long w, long c, const float* dy, float* dx, float scale = 1.f);

// SGD with Nesterov momentum and L2 decay, in place (float32 arithmetic in the order of the tfjs op graph):
// g' = g + wd*p; v = m*v + g'; p = p - lr*(g' + m*v).
void sgd_nesterov_update(long n, float* p, const float* g, float* v, float lr, float momentum, float wd);

// Adam, in place, in the order of the tfjs op graph: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
// p = p - lr * ((m/c1) / (sqrt(v/c2) + eps)), c1/c2 the bias corrections.
void adam_update(long n, float* p, const float* g, float* m, float* v, float lr, float b1, float oneMinusB1, float b2,
                 float oneMinusB2, float c1, float c2, float eps);
}  // namespace synthmri
