// bench --profile: per-kind rows, and with the native addon the quiet-host estimate from the pool's task timings.
import { initBackend, tf } from "@synthmri/ml";
import { describe, expect, it } from "vitest";
import { loadNativeAddon, setNativeThreads } from "../../packages/ml/src/native/index.js";
import { formatProfile, profileSteps } from "../src/profile.js";

describe("profileSteps", () => {
  it("reports kinds per step and, with the native addon, an estimate whose serial part is at most the whole", async () => {
    const info = await initBackend({ threads: 2 });
    const x = tf.randomNormal([2, 32, 32, 8]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 8, 16]) as tf.Tensor4D;
    const step = () => tf.tidy(() => tf.sum(tf.conv2d(x, w, 1, "same")).dataSync());
    const p = await profileSteps(step, 2);
    const conv = p.ops.find((o) => o.op === "Conv2D");
    expect(conv?.calls).toBe(1);
    expect(formatProfile("t", p).length).toBeGreaterThan(2);
    const addon = loadNativeAddon();
    if (!info.nativeKernels || addon?.profileCounters == null) {
      console.log("profile estimate not checked: native kernels are not active on this backend");
    } else {
      expect(p.est_ms).toBeGreaterThan(0);
      expect(p.serial_ms).toBeLessThanOrEqual(p.est_ms ?? 0);
      expect(p.pool_calls).toBeGreaterThanOrEqual(1);
      expect(conv?.est_ms).toBeGreaterThan(0);
      // Profiling is switched off afterwards: the pool's counters stay cleared.
      setNativeThreads(2);
      step();
      expect(addon.profileCounters()[0]).toBe(0);
    }
    tf.dispose([x, w]);
  }, 60_000);
});
