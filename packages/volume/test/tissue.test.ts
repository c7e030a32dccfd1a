// Tissue segmentation (issue 21.1): a synthetic head with known CSF/GM/WM shells, Gaussian noise and a smooth
// multiplicative bias; the bias-corrected mixture recovers the classes, and beats the same mixture without it.
import { describe, expect, it } from "vitest";
import { segmentTissue } from "../src/tissue/segment.js";

function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Concentric brain: WM core, GM shell, CSF shell (T1: CSF 300, GM 600, WM 850), noise sd 40, bias up to +-35 % (x) and +17 % (y^2). */
function head(n: number, seed: number, biasAmp: number) {
  const t1 = new Float32Array(n * n * n);
  const mask = new Uint8Array(n * n * n);
  const truth = new Uint8Array(n * n * n);
  const noise = gaussian(seed);
  const c = (n - 1) / 2;
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const i = x + n * (y + n * z);
        const r = Math.hypot(x - c, y - c, (z - c) * 1.2) / c;
        // Wavy boundaries so the classes are not just radii.
        const wob = 0.05 * Math.sin(x * 0.7) * Math.cos(y * 0.5);
        if (r > 0.95) continue;
        mask[i] = 1;
        const cls = r < 0.5 + wob ? 3 : r < 0.75 + wob ? 2 : 1;
        truth[i] = cls;
        const mean = cls === 3 ? 850 : cls === 2 ? 600 : 300;
        const bias = 1 + biasAmp * ((x - c) / c) + 0.5 * biasAmp * ((y - c) / c) ** 2;
        t1[i] = (mean + 40 * noise()) * bias;
      }
  return { t1, mask, truth };
}

function accuracy(labels: Uint8Array, truth: Uint8Array, mask: Uint8Array): number {
  let ok = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++)
    if (mask[i]) {
      n++;
      if (labels[i] === truth[i]) ok++;
    }
  return ok / n;
}

describe("segmentTissue", () => {
  it("recovers CSF/GM/WM under a strong bias field, better than without bias correction", () => {
    for (const seed of [1, 2]) {
      const { t1, mask, truth } = head(28, seed, 0.35);
      const withBias = segmentTissue(t1, mask, [28, 28, 28]);
      const without = segmentTissue(t1, mask, [28, 28, 28], { biasDegree: 0 });
      const a = accuracy(withBias.labels, truth, mask);
      const b = accuracy(without.labels, truth, mask);
      expect(a).toBeGreaterThan(0.95);
      console.log(`tissue accuracy seed ${seed}: ${a.toFixed(4)} with bias correction, ${b.toFixed(4)} without`);
      expect(a).toBeGreaterThan(b + 0.03);
      expect(withBias.means[0]).toBeLessThan(withBias.means[1]);
      expect(withBias.means[1]).toBeLessThan(withBias.means[2]);
      for (let i = 0; i < mask.length; i++) if (!mask[i]) expect(withBias.labels[i]).toBe(0);
    }
  });

  it("rejects mismatched sizes and empty masks with clear messages", () => {
    expect(() => segmentTissue(new Float32Array(8), new Uint8Array(7), [2, 2, 2])).toThrow(/8 voxels/);
    expect(() => segmentTissue(new Float32Array(8), new Uint8Array(8), [2, 2, 2])).toThrow(/at least 30/);
  });
});
