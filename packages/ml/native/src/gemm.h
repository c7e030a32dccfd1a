// Single-threaded packed GEMM: C[M x N] (+)= A[M x K] * B[K x N] with arbitrary element strides, so transposed
// operands (the im2col matrix read column-wise for the filter gradient) need no copy. Callers split work across threads.
#pragma once
#include <vector>

namespace synthmri {
void gemm(long M, long N, long K, const float* A, long rsA, long csA, const float* B, long rsB, long csB, float* C, long ldc,
          bool accumulate);
// B packed once for many gemm_packed_b calls that share it (the conv weights across a layer's row blocks). Large B is
// packed on the worker pool: call it outside parallel_for tasks only (the pool does not nest).
void pack_b_all(long K, long N, const float* B, long rsB, long csB, std::vector<float>& out);
void gemm_packed_b(long M, long N, long K, const float* A, long rsA, long csA, const float* Bp, float* C, long ldc,
                   bool accumulate);
}
