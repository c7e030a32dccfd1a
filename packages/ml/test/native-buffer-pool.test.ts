// The buffer pool behind the native kernels' outputs: disposed outputs are reused, but never an array someone may
// still hold (read through dataSync, or stored under another data id), and results stay equal to fresh buffers.
// Skips when the addon is not built.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tf } from "../src/backend/tf.js";
import { bufferPoolStats, takeFloat32, trimBufferPool } from "../src/native/buffer-pool.js";
import { loadNativeAddon, registerNativeKernels, unregisterNativeKernels } from "../src/native/index.js";
import { releaseIdleMemory } from "../src/native/release-memory.js";
import { rand, seeded } from "./native-compare.js";

const addon = loadNativeAddon();
const SIZE = 70_000; // above the size where binary ops go native

describe.skipIf(addon == null)("native buffer pool", () => {
  let before = 0;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    registerNativeKernels({ threads: 1 });
    trimBufferPool();
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
    unregisterNativeKernels();
    trimBufferPool();
  });

  it("reuses a disposed kernel output for the next output of the same length", () => {
    const next = seeded(1);
    const a = rand([SIZE], next);
    const b = rand([SIZE], next);
    const first = tf.add(a, b);
    const backend = tf.backend() as unknown as { data: { get(id: object): { values: Float32Array } } };
    const firstArray = backend.data.get(first.dataId).values;
    first.dispose();
    const s0 = bufferPoolStats();
    const second = tf.mul(a, b);
    expect(bufferPoolStats().reused).toBe(s0.reused + 1);
    expect(bufferPoolStats().freshBytes).toBe(s0.freshBytes); // no new pages for a reused output
    expect(backend.data.get(second.dataId).values).toBe(firstArray);
    const third = tf.sub(a, b); // `second` is still live: a new array
    expect(bufferPoolStats().freshBytes).toBe(s0.freshBytes + SIZE * 4);
    third.dispose();
    // The reused buffer holds a * b exactly, not leftovers of a + b.
    const av = a.dataSync();
    const bv = b.dataSync();
    const got = second.dataSync();
    let diffs = 0;
    for (let i = 0; i < SIZE; i++) if (got[i] !== Math.fround(av[i] * bv[i])) diffs++;
    expect(diffs).toBe(0);
    tf.dispose([a, b, second]);
  });

  it("never recycles an array that escaped through dataSync", () => {
    const next = seeded(2);
    const a = rand([SIZE], next);
    const sum = tf.add(a, a);
    const held = sum.dataSync() as Float32Array;
    const copy = held.slice();
    sum.dispose();
    const other = tf.tidy(() => tf.mul(a, tf.scalar(3)));
    expect(held).toEqual(copy); // still a + a: the caller's array was not handed to the next kernel
    tf.dispose([a, other]);
  });

  it("waits for every data id that stores an array before recycling it", () => {
    const backend = tf.backend() as unknown as {
      makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
    };
    const values = takeFloat32(backend, 16);
    values.fill(7);
    const x = tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo([16], "float32", values)) as tf.Tensor;
    const y = tf.engine().makeTensorFromTensorInfo(backend.makeTensorInfo([16], "float32", values)) as tf.Tensor;
    x.dispose();
    expect(takeFloat32(backend, 16)).not.toBe(values); // y still stores it
    y.dispose();
    expect(takeFloat32(backend, 16)).toBe(values);
  });

  it("a training-like loop keeps tensor counts flat and reuses most buffers", () => {
    const next = seeded(3);
    const w0 = rand([3, 3, 8, 8], next);
    const w = tf.variable(w0);
    w0.dispose();
    const x = rand([2, 32, 32, 8], next) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.square(tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, "same"))),
          [w],
        );
        w.assign(tf.sub(w, tf.mul(grads[w.name], 1e-6)));
        return value.dataSync()[0];
      });
    step();
    const n0 = tf.memory().numTensors;
    const s0 = bufferPoolStats();
    const losses = [step(), step(), step()];
    const s1 = bufferPoolStats();
    expect(tf.memory().numTensors).toBe(n0);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(s1.reused - s0.reused).toBeGreaterThan(0.5 * (s1.taken - s0.taken));
    tf.dispose([w, x]);
  });

  it("drops its free arrays once the kernels have been idle for SYNTHMRI_BUFFER_POOL_IDLE_MS, not while they work", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    process.env.SYNTHMRI_BUFFER_POOL_IDLE_MS = "1000";
    try {
      trimBufferPool(); // re-reads the settings
      const next = seeded(4);
      const a = rand([SIZE], next);
      tf.add(a, a).dispose();
      const released = bufferPoolStats().idleReleases;
      expect(bufferPoolStats().pooledBytes).toBe(SIZE * 4);
      vi.advanceTimersByTime(600);
      tf.mul(a, a).dispose(); // kernels still busy: the idle clock starts again
      vi.advanceTimersByTime(600);
      expect(bufferPoolStats().pooledBytes).toBe(SIZE * 4);
      vi.advanceTimersByTime(500);
      expect(bufferPoolStats().pooledBytes).toBe(0);
      expect(bufferPoolStats().idleReleases).toBe(released + 1);
      a.dispose();
    } finally {
      delete process.env.SYNTHMRI_BUFFER_POOL_IDLE_MS;
      vi.useRealTimers();
      trimBufferPool();
    }
  });

  it("releaseIdleMemory collects garbage and trims malloc's arenas where glibc has them", () => {
    const r = releaseIdleMemory();
    expect(r.collected).toBe(true);
    expect(typeof r.trimmed).toBe("boolean");
    expect(typeof addon?.mallocTrim).toBe("function");
  });
});
