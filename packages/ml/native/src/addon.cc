// N-API surface: every kernel takes Float32Array inputs, a preallocated Float32Array output and an Int32Array of
// shape parameters, runs synchronously on the worker pool, and throws a TypeError/RangeError a caller can act on.
#include <node_api.h>

#include <string>

#include "conv.h"
#include "norm.h"
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

napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value v;
  napi_create_int32(env, get_threads(), &v);
  return v;
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
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"getThreads", nullptr, GetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"simd", nullptr, SimdInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
