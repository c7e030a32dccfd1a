// NHWC float32 convolution kernels (dilation 1). Filter layout is tfjs's [kH, kW, inC, outC].
#pragma once

namespace synthmri {
struct ConvShape {
  long n, inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, padTop, padLeft;
};
void conv2d_forward(const ConvShape& s, const float* x, const float* w, float* y);
void conv2d_backprop_input(const ConvShape& s, const float* dy, const float* w, float* dx);
void conv2d_backprop_filter(const ConvShape& s, const float* x, const float* dy, float* dw);
// C[b] = op(A[b]) * op(B[b]); batch of 1 on either side broadcasts.
void batch_matmul(long batchA, long batchB, long M, long N, long K, bool transA, bool transB, const float* A, const float* B,
                  float* C);
}  // namespace synthmri
