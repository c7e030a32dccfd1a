// The ONNX export runs in onnxruntime (onnxruntime-node, CPU) and gives the tfjs net's logits on the same inputs
// (issue 19.3). Random weights everywhere, biases and norm affines included, so every tensor's layout is exercised.
import { InferenceSession, Tensor } from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { exportUNetToOnnx, Rng, tf, UNet } from "../src/index.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** A U-Net whose every parameter is random (the init leaves biases 0 and norm gains 1, which hide layout bugs). */
function randomUNet(config: ConstructorParameters<typeof UNet>[0], seed: number): UNet {
  const model = new UNet(config, seed);
  const { index, data } = model.params.toBytes();
  const f = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const rng = new Rng(seed + 1);
  for (let i = 0; i < f.length; i++) f[i] = (rng.next() - 0.5) * 0.6;
  model.params.fromBytes(index, new Uint8Array(f.buffer));
  return model;
}

function nhwcToNchw(x: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let z = 0; z < w; z++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + z] = x[((b * h + y) * w + z) * c + k];
  return out;
}

async function compare(
  config: ConstructorParameters<typeof UNet>[0],
  shape: [number, number, number, number],
  seed: number,
) {
  const model = randomUNet(config, seed);
  try {
    const x = tf.randomNormal(shape, 0, 1, "float32", seed) as tf.Tensor4D;
    const input = x.dataSync() as Float32Array;
    const [ref] = model.forward(x);
    const expected = nhwcToNchw(ref.dataSync() as Float32Array, ref.shape);
    x.dispose();
    ref.dispose();
    const bytes = exportUNetToOnnx(model, { metadata: { model_id: "test" } });
    const session = await InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(["input"]);
    expect(session.outputNames).toEqual(["logits"]);
    const [n, h, w, c] = shape;
    const out = await session.run({ input: new Tensor("float32", nhwcToNchw(input, shape), [n, c, h, w]) });
    const logits = out.logits;
    expect(logits.dims).toEqual([n, model.config.numClasses, h, w]);
    const got = logits.data as Float32Array;
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < got.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[i]));
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
    }
    await session.release();
    return { maxDiff, maxAbs };
  } finally {
    model.dispose();
  }
}

describe("exportUNetToOnnx", () => {
  it("onnxruntime reproduces the tfjs logits (3 levels, batch 2, 32x32)", async () => {
    const { maxDiff, maxAbs } = await compare(
      { inChannels: 4, numClasses: 4, widths: [4, 8, 16], deepSupervisionHeads: 2 },
      [2, 32, 32, 4],
      7,
    );
    expect(maxAbs).toBeGreaterThan(0.1);
    expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxAbs));
  });

  it("holds for another depth, seed and a non-square input (4 levels, 16x24)", async () => {
    const { maxDiff, maxAbs } = await compare(
      { inChannels: 4, numClasses: 4, widths: [6, 8, 12, 16], deepSupervisionHeads: 3 },
      [1, 16, 24, 4],
      11,
    );
    expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxAbs));
  });
});
