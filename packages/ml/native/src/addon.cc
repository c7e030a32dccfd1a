// N-API surface: every kernel takes Float32Array inputs, a preallocated Float32Array output and an Int32Array of
// shape parameters, runs synchronously on the worker pool, and throws a TypeError/RangeError a caller can act on.
#include <node_api.h>

#include <string>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "conv.h"
#include "loss.h"
#include "norm.h"
#include "ops.h"
#include "pool.h"

namespace {
using namespace synthmri;

struct Floats {
  float* data = nullptr;
  size_t length = 0;
};

bool fail(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, nullptr, msg.c_str());
  return false;
}

bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length, const char* what) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return fail(env, std::string(what) + " must be a typed array");
  napi_typedarray_type type;
  napi_value buf;
  size_t offset;
  napi_get_typedarray_info(env, v, &type, length, data, &buf, &offset);
  if (type != want)
    return fail(env, std::string(what) + (want == napi_float32_array ? " must be a Float32Array" : " must be an Int32Array"));
  return true;
}

bool get_floats(napi_env env, napi_value v, Floats* out, const char* what) {
  return get_typed(env, v, napi_float32_array, (void**)&out->data, &out->length, what);
}

bool get_ints(napi_env env, napi_value v, const int32_t** data, size_t* length, size_t want, const char* what) {
  if (!get_typed(env, v, napi_int32_array, (void**)data, length, what)) return false;
  if (*length != want) return fail(env, std::string(what) + " must hold " + std::to_string(want) + " integers");
  return true;
}

bool check_len(napi_env env, const Floats& f, long want, const char* what) {
  if ((long)f.length != want) {
    napi_throw_range_error(env, nullptr,
                           (std::string(what) + " has " + std::to_string(f.length) + " elements, expected " +
                            std::to_string(want))
                               .c_str());
    return false;
  }
  return true;
}

bool read_args(napi_env env, napi_callback_info info, size_t n, napi_value* args) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc < n) return fail(env, "expected " + std::to_string(n) + " arguments");
  return true;
}

bool read_shape(napi_env env, napi_value v, ConvShape* s) {
  const int32_t* p;
  size_t len;
  if (!get_ints(env, v, &p, &len, 13, "conv shape")) return false;
  *s = ConvShape{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]};
  for (int i = 0; i < 13; ++i)
    if (p[i] < 0 || (i < 11 && p[i] == 0)) return fail(env, "conv shape entry " + std::to_string(i) + " is out of range");
  return true;
}

// Kind selects which of (x, w, y) is the input, filter and output for the three conv kernels.
enum class ConvKind { Forward, BackpropInput, BackpropFilter };

napi_value conv(napi_env env, napi_callback_info info, ConvKind kind) {
  napi_value args[4];
  if (!read_args(env, info, 4, args)) return nullptr;
  ConvShape s;
  Floats a, b, out;
  if (!read_shape(env, args[3], &s) || !get_floats(env, args[0], &a, "first input") ||
      !get_floats(env, args[1], &b, "second input") || !get_floats(env, args[2], &out, "output"))
    return nullptr;
  long xLen = s.n * s.inH * s.inW * s.inC, yLen = s.n * s.outH * s.outW * s.outC, wLen = s.kH * s.kW * s.inC * s.outC;
  switch (kind) {
    case ConvKind::Forward:
      if (!check_len(env, a, xLen, "x") || !check_len(env, b, wLen, "filter") || !check_len(env, out, yLen, "y")) return nullptr;
      conv2d_forward(s, a.data, b.data, out.data);
      break;
    case ConvKind::BackpropInput:
      if (!check_len(env, a, yLen, "dy") || !check_len(env, b, wLen, "filter") || !check_len(env, out, xLen, "dx"))
        return nullptr;
      conv2d_backprop_input(s, a.data, b.data, out.data);
      break;
    case ConvKind::BackpropFilter:
      if (!check_len(env, a, xLen, "x") || !check_len(env, b, yLen, "dy") || !check_len(env, out, wLen, "dw")) return nullptr;
      conv2d_backprop_filter(s, a.data, b.data, out.data);
      break;
  }
  return nullptr;
}

napi_value Conv2D(napi_env env, napi_callback_info info) { return conv(env, info, ConvKind::Forward); }
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) { return conv(env, info, ConvKind::BackpropInput); }
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) { return conv(env, info, ConvKind::BackpropFilter); }

// matmul(a, b, c, Int32Array[batchA, batchB, M, N, K, transA, transB])
napi_value MatMul(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!read_args(env, info, 4, args)) return nullptr;
  const int32_t* p;
  size_t len;
  Floats a, b, c;
  if (!get_ints(env, args[3], &p, &len, 7, "matmul shape") || !get_floats(env, args[0], &a, "a") ||
      !get_floats(env, args[1], &b, "b") || !get_floats(env, args[2], &c, "c"))
    return nullptr;
  long batchA = p[0], batchB = p[1], M = p[2], N = p[3], K = p[4];
  if (batchA < 1 || batchB < 1 || (batchA != batchB && batchA != 1 && batchB != 1)) {
    fail(env, "matmul batch sizes must match or be 1");
    return nullptr;
  }
  if (!check_len(env, a, batchA * M * K, "a") || !check_len(env, b, batchB * K * N, "b") ||
      !check_len(env, c, (batchA > batchB ? batchA : batchB) * M * N, "c"))
    return nullptr;
  batch_matmul(batchA, batchB, M, N, K, p[5] != 0, p[6] != 0, a.data, b.data, c.data);
  return nullptr;
}

// instanceNorm(x, gamma, beta, y, Int32Array[n, hw, c], Float32Array[eps, alpha])
// instanceNormGrad(x, gamma, beta, dy, dx, dgamma, dbeta, Int32Array[n, hw, c], Float32Array[eps, alpha])
bool read_norm(napi_env env, napi_value shape, napi_value scalars, long* n, long* hw, long* c, float* eps, float* alpha) {
  const int32_t* p;
  size_t len;
  Floats f;
  if (!get_ints(env, shape, &p, &len, 3, "norm shape") || !get_floats(env, scalars, &f, "norm scalars")) return false;
  if (f.length != 2) return fail(env, "norm scalars must be [eps, alpha]");
  if (p[0] < 1 || p[1] < 1 || p[2] < 1) return fail(env, "norm shape entries must be positive");
  *n = p[0];
  *hw = p[1];
  *c = p[2];
  *eps = f.data[0];
  *alpha = f.data[1];
  return true;
}

napi_value InstanceNorm(napi_env env, napi_callback_info info) {
  napi_value args[6];
  if (!read_args(env, info, 6, args)) return nullptr;
  long n, hw, c;
  float eps, alpha;
  Floats x, g, b, y;
  if (!read_norm(env, args[4], args[5], &n, &hw, &c, &eps, &alpha) || !get_floats(env, args[0], &x, "x") ||
      !get_floats(env, args[1], &g, "gamma") || !get_floats(env, args[2], &b, "beta") || !get_floats(env, args[3], &y, "y"))
    return nullptr;
  if (!check_len(env, x, n * hw * c, "x") || !check_len(env, y, n * hw * c, "y") || !check_len(env, g, c, "gamma") ||
      !check_len(env, b, c, "beta"))
    return nullptr;
  instance_norm_forward(n, hw, c, x.data, g.data, b.data, eps, alpha, y.data);
  return nullptr;
}

napi_value InstanceNormGrad(napi_env env, napi_callback_info info) {
  napi_value args[9];
  if (!read_args(env, info, 9, args)) return nullptr;
  long n, hw, c;
  float eps, alpha;
  Floats x, g, b, dy, dx, dg, db;
  if (!read_norm(env, args[7], args[8], &n, &hw, &c, &eps, &alpha) || !get_floats(env, args[0], &x, "x") ||
      !get_floats(env, args[1], &g, "gamma") || !get_floats(env, args[2], &b, "beta") ||
      !get_floats(env, args[3], &dy, "dy") || !get_floats(env, args[4], &dx, "dx") ||
      !get_floats(env, args[5], &dg, "dgamma") || !get_floats(env, args[6], &db, "dbeta"))
    return nullptr;
  long size = n * hw * c;
  if (!check_len(env, x, size, "x") || !check_len(env, dy, size, "dy") || !check_len(env, dx, size, "dx") ||
      !check_len(env, g, c, "gamma") || !check_len(env, b, c, "beta") || !check_len(env, dg, c, "dgamma") ||
      !check_len(env, db, c, "dbeta"))
    return nullptr;
  instance_norm_backward(n, hw, c, x.data, g.data, b.data, eps, alpha, dy.data, dx.data, dg.data, db.data);
  return nullptr;
}

bool get_int_array(napi_env env, napi_value v, std::vector<long>* out, const char* what) {
  const int32_t* p;
  size_t len;
  if (!get_typed(env, v, napi_int32_array, (void**)&p, &len, what)) return false;
  out->assign(p, p + len);
  return true;
}

bool check_scalars(napi_env env, const Floats& f, size_t want, const char* what) {
  if (f.length != want) return fail(env, std::string(what) + " must hold " + std::to_string(want) + " floats");
  return true;
}

// transpose(x, out, Int32Array shape, Int32Array perm)
napi_value Transpose(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!read_args(env, info, 4, args)) return nullptr;
  Floats x, out;
  std::vector<long> shape, perm;
  if (!get_floats(env, args[0], &x, "x") || !get_floats(env, args[1], &out, "out") ||
      !get_int_array(env, args[2], &shape, "transpose shape") || !get_int_array(env, args[3], &perm, "transpose perm"))
    return nullptr;
  if (shape.size() != perm.size() || shape.empty() || shape.size() > 16) {
    fail(env, "transpose shape and perm must have the same rank (1..16)");
    return nullptr;
  }
  long total = 1;
  std::vector<bool> seen(shape.size(), false);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || perm[d] < 0 || perm[d] >= (long)shape.size() || seen[perm[d]]) {
      fail(env, "transpose perm must be a permutation of 0..rank-1 and shape non-negative");
      return nullptr;
    }
    seen[perm[d]] = true;
    total *= shape[d];
  }
  if (!check_len(env, x, total, "x") || !check_len(env, out, total, "out")) return nullptr;
  std::vector<int> p(perm.begin(), perm.end());
  transpose((int)shape.size(), shape.data(), p.data(), x.data, out.data);
  return nullptr;
}

// binary(op, a, b, out, Int32Array dims, Int32Array aStrides, Int32Array bStrides); op 0 add, 1 sub, 2 mul, 3 div.
napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value args[7];
  if (!read_args(env, info, 7, args)) return nullptr;
  int32_t op = -1;
  if (napi_get_value_int32(env, args[0], &op) != napi_ok || op < 0 || op > 3) {
    fail(env, "binary op must be 0 (add), 1 (sub), 2 (mul) or 3 (div)");
    return nullptr;
  }
  Floats a, b, out;
  std::vector<long> dims, as, bs;
  if (!get_floats(env, args[1], &a, "a") || !get_floats(env, args[2], &b, "b") || !get_floats(env, args[3], &out, "out") ||
      !get_int_array(env, args[4], &dims, "dims") || !get_int_array(env, args[5], &as, "a strides") ||
      !get_int_array(env, args[6], &bs, "b strides"))
    return nullptr;
  if (dims.empty() || dims.size() != as.size() || dims.size() != bs.size()) {
    fail(env, "binary dims and strides must have the same, non-zero length");
    return nullptr;
  }
  long total = 1, aMax = 0, bMax = 0;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] < 1 || as[d] < 0 || bs[d] < 0) {
      fail(env, "binary dims must be positive and strides non-negative");
      return nullptr;
    }
    total *= dims[d];
    aMax += (dims[d] - 1) * as[d];
    bMax += (dims[d] - 1) * bs[d];
  }
  if (!check_len(env, out, total, "out")) return nullptr;
  if (aMax >= (long)a.length || bMax >= (long)b.length) {
    napi_throw_range_error(env, nullptr, "binary strides reach past the end of an input");
    return nullptr;
  }
  binary_strided(op, (int)dims.size(), dims.data(), as.data(), bs.data(), a.data, b.data, out.data);
  return nullptr;
}

// copyRows(src, dst, Int32Array [srcOffset, srcStride, dstOffset, dstStride, rows, width])
napi_value CopyRows(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!read_args(env, info, 3, args)) return nullptr;
  Floats src, dst;
  const int32_t* p;
  size_t len;
  if (!get_floats(env, args[0], &src, "src") || !get_floats(env, args[1], &dst, "dst") ||
      !get_ints(env, args[2], &p, &len, 6, "copyRows layout [srcOffset, srcStride, dstOffset, dstStride, rows, width]"))
    return nullptr;
  long sOff = p[0], sStride = p[1], dOff = p[2], dStride = p[3], rows = p[4], width = p[5];
  if (sOff < 0 || sStride < 0 || dOff < 0 || dStride < 0 || rows < 0 || width < 0) {
    fail(env, "copyRows layout entries must be non-negative");
    return nullptr;
  }
  if (rows > 0 && width > 0 &&
      (sOff + (rows - 1) * sStride + width > (long)src.length || dOff + (rows - 1) * dStride + width > (long)dst.length)) {
    napi_throw_range_error(env, nullptr, "copyRows layout reaches past the end of src or dst");
    return nullptr;
  }
  if (rows > 0 && width > 0) copy_rows(src.data, sOff, sStride, dst.data, dOff, dStride, rows, width);
  return nullptr;
}

// sum2d(x, out, Int32Array [rows, cols, reduceRows])
napi_value Sum2d(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!read_args(env, info, 3, args)) return nullptr;
  Floats x, out;
  const int32_t* p;
  size_t len;
  if (!get_floats(env, args[0], &x, "x") || !get_floats(env, args[1], &out, "out") ||
      !get_ints(env, args[2], &p, &len, 3, "sum2d shape [rows, cols, reduceRows]"))
    return nullptr;
  if (p[0] < 1 || p[1] < 1) {
    fail(env, "sum2d rows and cols must be positive");
    return nullptr;
  }
  if (!check_len(env, x, (long)p[0] * p[1], "x") || !check_len(env, out, p[2] ? p[1] : p[0], "out")) return nullptr;
  sum2d(x.data, p[0], p[1], p[2] != 0, out.data);
  return nullptr;
}

// biasLeaky(x, b, y, Float32Array [alpha]); x, y [rows x c], b [c].
napi_value BiasLeaky(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!read_args(env, info, 4, args)) return nullptr;
  Floats x, b, y, s;
  if (!get_floats(env, args[0], &x, "x") || !get_floats(env, args[1], &b, "bias") || !get_floats(env, args[2], &y, "y") ||
      !get_floats(env, args[3], &s, "biasLeaky scalars") || !check_scalars(env, s, 1, "biasLeaky scalars [alpha]"))
    return nullptr;
  if (b.length == 0 || x.length % b.length != 0) {
    fail(env, "biasLeaky: x's length must be a multiple of the bias length (its last axis)");
    return nullptr;
  }
  if (!check_len(env, y, (long)x.length, "y")) return nullptr;
  bias_leaky_forward((long)(x.length / b.length), (long)b.length, x.data, b.data, s.data[0], y.data);
  return nullptr;
}

// biasActivation(y, bias (length 0: none, else y's last axis), mode (0 linear, 1 relu, 2 relu6, 3 leaky), alpha)
napi_value BiasActivation(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!read_args(env, info, 5, args)) return nullptr;
  Floats y, b;
  int32_t channels = 0, mode = -1;
  double alpha = 0;
  if (!get_floats(env, args[0], &y, "y") || !get_floats(env, args[1], &b, "bias")) return nullptr;
  if (napi_get_value_int32(env, args[2], &channels) != napi_ok || channels < 1 || y.length % (size_t)channels != 0) {
    fail(env, "biasActivation: channels must be a positive integer dividing y's length");
    return nullptr;
  }
  if (napi_get_value_int32(env, args[3], &mode) != napi_ok || mode < 0 || mode > 3) {
    fail(env, "biasActivation: mode must be 0 (linear), 1 (relu), 2 (relu6) or 3 (leaky)");
    return nullptr;
  }
  if (napi_get_value_double(env, args[4], &alpha) != napi_ok) {
    fail(env, "biasActivation: alpha must be a number");
    return nullptr;
  }
  if (b.length != 0 && !check_len(env, b, channels, "bias")) return nullptr;
  bias_activation_inplace((long)(y.length / channels), channels, y.data, b.length == 0 ? nullptr : b.data, mode, alpha);
  return nullptr;
}

// biasLeakyGrad(y, dy, dx, db, Float32Array [alpha])
napi_value BiasLeakyGrad(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!read_args(env, info, 5, args)) return nullptr;
  Floats y, dy, dx, db, s;
  if (!get_floats(env, args[0], &y, "y") || !get_floats(env, args[1], &dy, "dy") || !get_floats(env, args[2], &dx, "dx") ||
      !get_floats(env, args[3], &db, "dbias") || !get_floats(env, args[4], &s, "biasLeaky scalars") ||
      !check_scalars(env, s, 1, "biasLeaky scalars [alpha]"))
    return nullptr;
  if (db.length == 0 || y.length % db.length != 0) {
    fail(env, "biasLeakyGrad: y's length must be a multiple of the bias length (its last axis)");
    return nullptr;
  }
  if (!check_len(env, dy, (long)y.length, "dy") || !check_len(env, dx, (long)y.length, "dx")) return nullptr;
  bias_leaky_backward((long)(y.length / db.length), (long)db.length, y.data, dy.data, s.data[0], dx.data, db.data);
  return nullptr;
}

// upsample2x(x, y, Int32Array [n, h, w, c]) and upsample2xGrad(dy, dx, Int32Array [n, h, w, c]); h, w: the small side.
// spread2x2(x, y, shape, scale) and pool2x2(x, y, shape, scale): the same two with a scale (pool2x2 with 1/4 is 2x2
// average pooling), each the other's adjoint.
napi_value Upsample(napi_env env, napi_callback_info info, bool grad, bool scaled) {
  napi_value args[4];
  if (!read_args(env, info, scaled ? 4 : 3, args)) return nullptr;
  Floats a, b;
  const int32_t* p;
  size_t len;
  if (!get_floats(env, args[0], &a, grad ? "dy" : "x") || !get_floats(env, args[1], &b, grad ? "dx" : "y") ||
      !get_ints(env, args[2], &p, &len, 4, "upsample shape [n, h, w, c]"))
    return nullptr;
  if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1) {
    fail(env, "upsample shape entries must be positive");
    return nullptr;
  }
  double scale = 1.0;
  if (scaled && napi_get_value_double(env, args[3], &scale) != napi_ok) {
    fail(env, "pool2x2 / spread2x2: scale must be a number");
    return nullptr;
  }
  long small = (long)p[0] * p[1] * p[2] * p[3];
  if (!check_len(env, a, grad ? 4 * small : small, grad ? "dy" : "x") ||
      !check_len(env, b, grad ? small : 4 * small, grad ? "dx" : "y"))
    return nullptr;
  if (grad)
    upsample2x_grad(p[0], p[1], p[2], p[3], a.data, b.data, (float)scale);
  else
    upsample2x(p[0], p[1], p[2], p[3], a.data, b.data, (float)scale);
  return nullptr;
}
napi_value Upsample2x(napi_env env, napi_callback_info info) { return Upsample(env, info, false, false); }
napi_value Upsample2xGrad(napi_env env, napi_callback_info info) { return Upsample(env, info, true, false); }
napi_value Spread2x2(napi_env env, napi_callback_info info) { return Upsample(env, info, false, true); }
napi_value Pool2x2(napi_env env, napi_callback_info info) { return Upsample(env, info, true, true); }

// biasLeakyPool(x, b, y, Int32Array [n, h, w, c], alpha) and biasLeakyPoolGrad(x, b, dy, dx, db, shape, alpha): h, w
// the pooled side; x, dx [n, 2h, 2w, c], y, dy [n, h, w, c], b, db [c].
bool read_pool_shape(napi_env env, napi_value v, const int32_t** p, double* alpha, napi_value a) {
  size_t len;
  if (!get_ints(env, v, p, &len, 4, "biasLeakyPool shape [n, h, w, c]")) return false;
  if ((*p)[0] < 1 || (*p)[1] < 1 || (*p)[2] < 1 || (*p)[3] < 1) return fail(env, "biasLeakyPool shape entries must be positive");
  if (napi_get_value_double(env, a, alpha) != napi_ok) return fail(env, "biasLeakyPool: alpha must be a number");
  return true;
}

napi_value BiasLeakyPool(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!read_args(env, info, 5, args)) return nullptr;
  Floats x, b, y;
  const int32_t* p;
  double alpha;
  if (!get_floats(env, args[0], &x, "x") || !get_floats(env, args[1], &b, "bias") || !get_floats(env, args[2], &y, "y") ||
      !read_pool_shape(env, args[3], &p, &alpha, args[4]))
    return nullptr;
  long small = (long)p[0] * p[1] * p[2] * p[3];
  if (!check_len(env, x, 4 * small, "x") || !check_len(env, b, p[3], "bias") || !check_len(env, y, small, "y"))
    return nullptr;
  bias_leaky_pool_forward(p[0], p[1], p[2], p[3], x.data, b.data, (float)alpha, y.data);
  return nullptr;
}

napi_value BiasLeakyPoolGrad(napi_env env, napi_callback_info info) {
  napi_value args[7];
  if (!read_args(env, info, 7, args)) return nullptr;
  Floats x, b, dy, dx, db;
  const int32_t* p;
  double alpha;
  if (!get_floats(env, args[0], &x, "x") || !get_floats(env, args[1], &b, "bias") || !get_floats(env, args[2], &dy, "dy") ||
      !get_floats(env, args[3], &dx, "dx") || !get_floats(env, args[4], &db, "dbias") ||
      !read_pool_shape(env, args[5], &p, &alpha, args[6]))
    return nullptr;
  long small = (long)p[0] * p[1] * p[2] * p[3];
  if (!check_len(env, x, 4 * small, "x") || !check_len(env, b, p[3], "bias") || !check_len(env, dy, small, "dy") ||
      !check_len(env, dx, 4 * small, "dx") || !check_len(env, db, p[3], "dbias"))
    return nullptr;
  bias_leaky_pool_backward(p[0], p[1], p[2], p[3], x.data, b.data, dy.data, (float)alpha, dx.data, db.data);
  return nullptr;
}

// biasTanh(x, b, y): y = tanh(x + b), x and y [rows x c], b [c]; biasTanhGrad(y, dy, dx, db).
napi_value BiasTanh(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!read_args(env, info, 3, args)) return nullptr;
  Floats x, b, y;
  if (!get_floats(env, args[0], &x, "x") || !get_floats(env, args[1], &b, "bias") || !get_floats(env, args[2], &y, "y"))
    return nullptr;
  if (b.length == 0 || x.length % b.length != 0) {
    fail(env, "biasTanh: x's length must be a multiple of the bias length (its last axis)");
    return nullptr;
  }
  if (!check_len(env, y, (long)x.length, "y")) return nullptr;
  bias_tanh_forward((long)(x.length / b.length), (long)b.length, x.data, b.data, y.data);
  return nullptr;
}

napi_value BiasTanhGrad(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!read_args(env, info, 4, args)) return nullptr;
  Floats y, dy, dx, db;
  if (!get_floats(env, args[0], &y, "y") || !get_floats(env, args[1], &dy, "dy") || !get_floats(env, args[2], &dx, "dx") ||
      !get_floats(env, args[3], &db, "dbias"))
    return nullptr;
  if (db.length == 0 || y.length % db.length != 0) {
    fail(env, "biasTanhGrad: y's length must be a multiple of the bias length (its last axis)");
    return nullptr;
  }
  if (!check_len(env, dy, (long)y.length, "dy") || !check_len(env, dx, (long)y.length, "dx")) return nullptr;
  bias_tanh_backward((long)(y.length / db.length), (long)db.length, y.data, dy.data, dx.data, db.data);
  return nullptr;
}

// sgdNesterov(p, g, v, Float32Array [lr, momentum, weightDecay]): p and v updated in place.
napi_value SgdNesterov(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!read_args(env, info, 4, args)) return nullptr;
  Floats p, g, v, s;
  if (!get_floats(env, args[0], &p, "param") || !get_floats(env, args[1], &g, "grad") ||
      !get_floats(env, args[2], &v, "velocity") || !get_floats(env, args[3], &s, "sgd scalars") ||
      !check_scalars(env, s, 3, "sgd scalars [lr, momentum, weightDecay]"))
    return nullptr;
  if (!check_len(env, g, (long)p.length, "grad") || !check_len(env, v, (long)p.length, "velocity")) return nullptr;
  sgd_nesterov_update((long)p.length, p.data, g.data, v.data, s.data[0], s.data[1], s.data[2]);
  return nullptr;
}

// adam(p, g, m, v, Float32Array [lr, b1, 1-b1, b2, 1-b2, c1, c2, eps]): p, m and v updated in place.
napi_value Adam(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!read_args(env, info, 5, args)) return nullptr;
  Floats p, g, m, v, s;
  if (!get_floats(env, args[0], &p, "param") || !get_floats(env, args[1], &g, "grad") ||
      !get_floats(env, args[2], &m, "first moment") || !get_floats(env, args[3], &v, "second moment") ||
      !get_floats(env, args[4], &s, "adam scalars") ||
      !check_scalars(env, s, 8, "adam scalars [lr, b1, 1-b1, b2, 1-b2, c1, c2, eps]"))
    return nullptr;
  if (!check_len(env, g, (long)p.length, "grad") || !check_len(env, m, (long)p.length, "first moment") ||
      !check_len(env, v, (long)p.length, "second moment"))
    return nullptr;
  const float* k = s.data;
  adam_update((long)p.length, p.data, g.data, m.data, v.data, k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]);
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value arg;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  int32_t n = 1;
  if (argc < 1 || napi_get_value_int32(env, arg, &n) != napi_ok || n < 1) {
    fail(env, "setThreads expects a positive integer");
    return nullptr;
  }
  set_threads(n);
  return nullptr;
}

// Hands the free pages of glibc's malloc arenas back to the OS. V8 allocates ArrayBuffer backing stores with
// malloc; freed ones of a few hundred KiB (glibc's dynamic mmap threshold grows up to 32 MiB) stay in the arenas,
// so a server's RSS stays at its peak after a burst of tensors is collected. Returns whether memory was released.
napi_value MallocTrim(napi_env env, napi_callback_info) {
  bool released = false;
#if defined(__GLIBC__)
  released = malloc_trim(0) == 1;
#endif
  napi_value v;
  napi_get_boolean(env, released, &v);
  return v;
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_int32(env, get_threads(), &v);
  return v;
}

// ceDiceLoss(logits, onehot, dlogits, Int32Array [pixels, classes], Float32Array [smooth]) -> loss (a number).
napi_value CeDiceLoss(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!read_args(env, info, 5, args)) return nullptr;
  Floats z, g, dz, s;
  const int32_t* p;
  size_t len;
  if (!get_floats(env, args[0], &z, "logits") || !get_floats(env, args[1], &g, "onehot") ||
      !get_floats(env, args[2], &dz, "dlogits") || !get_ints(env, args[3], &p, &len, 2, "loss shape [pixels, classes]") ||
      !get_floats(env, args[4], &s, "loss scalars") || !check_scalars(env, s, 1, "loss scalars [smooth]"))
    return nullptr;
  const long pixels = p[0], classes = p[1];
  if (pixels < 1 || classes < 2 || classes > 64) {
    napi_throw_range_error(env, nullptr, "ceDiceLoss: needs pixels >= 1 and 2 <= classes <= 64");
    return nullptr;
  }
  if (!check_len(env, z, pixels * classes, "logits") || !check_len(env, g, pixels * classes, "onehot") ||
      !check_len(env, dz, pixels * classes, "dlogits"))
    return nullptr;
  napi_value out;
  napi_create_double(env, ce_dice_loss(pixels, classes, z.data, g.data, s.data[0], dz.data), &out);
  return out;
}

// setProfiling(on): per-task CPU timing in the pool for bench --profile (clears the counters).
napi_value SetProfiling(napi_env env, napi_callback_info info) {
  napi_value arg;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  bool on = false;
  if (argc < 1 || napi_get_value_bool(env, arg, &on) != napi_ok) {
    fail(env, "setProfiling expects a boolean");
    return nullptr;
  }
  set_profiling(on);
  return nullptr;
}

// profileCounters() -> [calls, replayNs, taskNs, callerInsideNs, callerCpuNs] (see pool.h).
napi_value ProfileCounters(napi_env env, napi_callback_info) {
  double c[5];
  profile_counters(c);
  napi_value arr;
  napi_create_array_with_length(env, 5, &arr);
  for (uint32_t i = 0; i < 5; ++i) {
    napi_value v;
    napi_create_double(env, c[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

napi_value SimdInfo(napi_env env, napi_callback_info) {
  napi_value v;
#if defined(__AVX2__) && defined(__FMA__)
  napi_create_string_utf8(env, "avx2+fma", NAPI_AUTO_LENGTH, &v);
#else
  napi_create_string_utf8(env, "portable", NAPI_AUTO_LENGTH, &v);
#endif
  return v;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2DBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2DBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"instanceNorm", nullptr, InstanceNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"instanceNormGrad", nullptr, InstanceNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, CopyRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sum2d", nullptr, Sum2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasLeaky", nullptr, BiasLeaky, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasActivation", nullptr, BiasActivation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasLeakyGrad", nullptr, BiasLeakyGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"upsample2x", nullptr, Upsample2x, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"upsample2xGrad", nullptr, Upsample2xGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"spread2x2", nullptr, Spread2x2, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool2x2", nullptr, Pool2x2, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasLeakyPool", nullptr, BiasLeakyPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasLeakyPoolGrad", nullptr, BiasLeakyPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasTanh", nullptr, BiasTanh, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasTanhGrad", nullptr, BiasTanhGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdNesterov", nullptr, SgdNesterov, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"ceDiceLoss", nullptr, CeDiceLoss, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setProfiling", nullptr, SetProfiling, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"profileCounters", nullptr, ProfileCounters, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mallocTrim", nullptr, MallocTrim, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"simd", nullptr, SimdInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
