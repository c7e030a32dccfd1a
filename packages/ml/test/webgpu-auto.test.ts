// TF_BACKEND=auto takes webgpu only on a discrete GPU (issue 15): the decision and the pre-check, without a GPU.
import { describe, expect, it } from "vitest";
import { diffGpuCounts, gpuCounts, installGpuCounters, isDiscreteGpuAdapter, shouldProbeWebGpu } from "../src/index.js";

describe("isDiscreteGpuAdapter", () => {
  it("refuses Mesa lavapipe as Dawn reports it", () => {
    const lavapipe = {
      vendor: "mesa",
      architecture: "software",
      device: "llvmpipe-llvm-15-0-6-256-bits-",
      description: "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1",
      isFallbackAdapter: true,
    };
    expect(isDiscreteGpuAdapter(lavapipe)).toBe(false);
    expect(isDiscreteGpuAdapter({ ...lavapipe, isFallbackAdapter: false })).toBe(false);
  });
  it("refuses SwiftShader and any fallback adapter", () => {
    expect(isDiscreteGpuAdapter({ vendor: "google", description: "SwiftShader Device (Subzero)" })).toBe(false);
    expect(isDiscreteGpuAdapter({ vendor: "nvidia", architecture: "hopper", isFallbackAdapter: true })).toBe(false);
  });
  it("takes NVIDIA and AMD hardware adapters, not Intel (mostly integrated)", () => {
    expect(isDiscreteGpuAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" })).toBe(true);
    expect(isDiscreteGpuAdapter({ vendor: "amd", architecture: "rdna-3" })).toBe(true);
    expect(isDiscreteGpuAdapter({ vendor: "intel", architecture: "gen-12lp" })).toBe(false);
    expect(isDiscreteGpuAdapter({})).toBe(false);
  });
});

describe("shouldProbeWebGpu", () => {
  const none = () => false;
  it("loads Dawn on the auto path only with a discrete GPU's device node", () => {
    expect(shouldProbeWebGpu({}, none)).toBe(false);
    expect(shouldProbeWebGpu({}, (p) => p === "/dev/nvidiactl")).toBe(true);
    expect(shouldProbeWebGpu({}, (p) => p === "/dev/kfd")).toBe(true);
  });
  it("SYNTHMRI_WEBGPU_AUTO=0 turns the probe off, =1 forces it", () => {
    expect(shouldProbeWebGpu({ SYNTHMRI_WEBGPU_AUTO: "0" }, () => true)).toBe(false);
    expect(shouldProbeWebGpu({ SYNTHMRI_WEBGPU_AUTO: "1" }, none)).toBe(true);
  });
});

describe("gpu counters", () => {
  it("count dispatches, buffers, submits and MAP_READ bytes through the classes' prototypes", () => {
    class GPUDevice {
      createBuffer(d: { size: number }) {
        return new GPUBuffer(d.size);
      }
    }
    class GPUBuffer {
      constructor(readonly size: number) {}
      mapAsync(_mode: number, _offset?: number, _size?: number) {
        return Promise.resolve();
      }
    }
    class GPUComputePassEncoder {
      dispatchWorkgroups(_x: number) {}
    }
    class GPUQueue {
      submit(_b: unknown[]) {}
      writeBuffer(_b: unknown, _o: number, _d: ArrayBufferView) {}
    }
    expect(installGpuCounters({ GPUDevice, GPUBuffer, GPUComputePassEncoder, GPUQueue })).toBe(true);
    const a = gpuCounts();
    const dev = new GPUDevice();
    const staging = dev.createBuffer({ size: 16 });
    const pass = new GPUComputePassEncoder();
    pass.dispatchWorkgroups(1);
    pass.dispatchWorkgroups(2);
    new GPUQueue().submit([]);
    new GPUQueue().writeBuffer(staging, 0, new Float32Array(3));
    void staging.mapAsync(1);
    void staging.mapAsync(2); // MAP_WRITE: not a readback
    expect(diffGpuCounts(a, gpuCounts())).toEqual({
      dispatches: 2,
      buffersCreated: 1,
      submits: 1,
      readbackBytes: 16,
      uploadBytes: 12,
    });
  });
});
