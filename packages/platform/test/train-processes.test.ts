// Each training child's share of the host's cores for the native kernels (TRAIN_PROCESSES children at once).
import { describe, expect, it } from "vitest";
import { childNativeThreads, trainProcessesFromConfig } from "../src/child/train-processes.js";

describe("childNativeThreads", () => {
  it("splits the cores evenly, at least one thread per child", () => {
    expect(childNativeThreads(1, 2, {})).toBe("2");
    expect(childNativeThreads(2, 2, {})).toBe("1");
    expect(childNativeThreads(4, 2, {})).toBe("1");
    expect(childNativeThreads(3, 16, {})).toBe("5");
  });
  it("keeps an operator's SYNTHMRI_NATIVE_THREADS", () => {
    expect(childNativeThreads(2, 16, { SYNTHMRI_NATIVE_THREADS: "3" })).toBe("3");
  });
  it("puts the share into the children's environment, under the store's variables", () => {
    const t = trainProcessesFromConfig({ trainProcesses: 2 }, { childEnv: { S3_ENDPOINT: "http://x" } });
    expect(t?.env?.S3_ENDPOINT).toBe("http://x");
    expect(Number(t?.env?.SYNTHMRI_NATIVE_THREADS)).toBeGreaterThanOrEqual(1);
    expect(trainProcessesFromConfig({ trainProcesses: 0 }, { childEnv: {} })).toBeUndefined();
  });
});
