// Instance norm (per sample and channel over H x W, biased variance) fused with LeakyReLU, NHWC float32.
#pragma once

namespace synthmri {
// y = leaky(gamma * (x - mean) / sqrt(var + eps) + beta, alpha); alpha = 1 gives plain instance norm.
void instance_norm_forward(long n, long hw, long c, const float* x, const float* gamma, const float* beta, float eps,
                           float alpha, float* y);
// Gradients of the forward above w.r.t. x, gamma and beta for upstream dy (recomputes the statistics from x).
void instance_norm_backward(long n, long hw, long c, const float* x, const float* gamma, const float* beta, float eps,
                            float alpha, const float* dy, float* dx, float* dgamma, float* dbeta);
}  // namespace synthmri
