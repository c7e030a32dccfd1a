{
  "targets": [
    {
      "target_name": "synthmri_kernels",
      "sources": ["src/addon.cc", "src/gemm.cc", "src/conv.cc", "src/pool.cc", "src/norm.cc", "src/ops.cc", "src/loss.cc"],
      "cflags!": ["-O2", "-fno-exceptions"],
      "cflags_cc!": ["-O2", "-fno-exceptions"],
      "cflags": ["-O3"],
      "cflags_cc": ["-O3", "-std=c++17", "-ffp-contract=off", "-fno-trapping-math", "-fexceptions", "<!@(node -p \"process.env.SYNTHMRI_NATIVE_PORTABLE ? '' : '-march=native'\")"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
