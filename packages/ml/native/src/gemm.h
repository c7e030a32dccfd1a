// Single-threaded packed GEMM: C[M x N] (+)= A[M x K] * B[K x N] with arbitrary element strides, so transposed
// operands (the im2col matrix read column-wise for the filter gradient) need no copy. Callers split work across threads.
#pragma once

namespace synthmri {
void gemm(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB, float* C, long ldc,
          bool accumulate);
}
