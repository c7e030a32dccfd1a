import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { backendInfo, initBackend, tf } from "../src/index.js";
import { isProjectKernel, projectKernels } from "../src/kernels/index.js";

describe("backend resolver", () => {
  it("project kernels are registered on wasm and cpu at import (before native kernels may wrap them)", () => {
    for (const [backend, names] of Object.entries(projectKernels)) {
      for (const n of names) expect(isProjectKernel(n, backend), `${backend}/${n}`).toBe(true);
    }
    expect(tf.getKernel(tf.Conv2DBackpropFilter, "wasm")).toBeDefined();
  });
  it("rejects an unknown TF_BACKEND with a message naming the choices", async () => {
    process.env.TF_BACKEND = "cuda";
    await expect(initBackend()).rejects.toThrow(/TF_BACKEND=cuda.*auto, tensorflow-gpu, tensorflow, wasm, cpu/);
    delete process.env.TF_BACKEND;
  });

  it("without tfjs-node installed, auto picks cpu with the native addon (wasm with SIMD without it), once, and logs it once", async () => {
    expect(backendInfo()).toBeNull();
    const lines: string[] = [];
    const logger = {
      debug() {},
      info: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error() {},
      child: () => logger,
    };
    const [a, b] = await Promise.all([initBackend({ logger }), initBackend({ logger })]);
    expect(a).toBe(b);
    // The root postinstall builds the addon; where g++ is missing it is absent and wasm takes over.
    const addonBuilt = existsSync(new URL("../native/build/Release/", import.meta.url));
    if (addonBuilt) {
      expect(a.name).toBe("cpu");
      expect(a.nativeKernels).toBe(true);
    } else {
      expect(a.name).toBe("wasm");
      expect(a.simd).toBe(true);
    }
    expect(tf.getBackend()).toBe(a.name);
    expect(lines.filter((l) => l === "compute backend")).toHaveLength(1);
    expect(backendInfo()).toBe(a);
    expect(await initBackend({ preferred: "cpu" })).toBe(a);
  });
});
