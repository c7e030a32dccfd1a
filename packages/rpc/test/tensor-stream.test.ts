import { createHash, randomFillSync } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { DataType, type TensorFrame, TensorFrameSchema, TestingService } from "@synthmri/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, receiveTensor, receiveTensors, sendTensor, tensorFrames, typedArrayOf } from "../src/index.js";
import { type Fixture, startFixture } from "./fixture.js";

const MiB = 1024 * 1024;

function randomFloats(n: number): Float32Array {
  const a = new Float32Array(n);
  randomFillSync(new Uint8Array(a.buffer));
  return a;
}

describe("tensor streams over gRPC", () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => {
    await fx.server.shutdown(1000);
  });

  it("round-trips a 20 MiB float32 tensor through a bidi stream bit-exactly", async () => {
    const client = createClient(TestingService, fx.address);
    const source = randomFloats((20 * MiB) / 4);
    const requests = (async function* () {
      for await (const frame of sendTensor({
        dtype: DataType.FLOAT32,
        shape: [5, 1024, 1024],
        data: source,
        name: "x",
      })) {
        yield { frame };
      }
    })();
    const back = await receiveTensor(client.relay(requests), (r) => r.frame);
    client.close();
    expect(back.shape).toEqual([5, 1024, 1024]);
    expect(back.name).toBe("x");
    expect(back.bytes.byteOffset % 8).toBe(0);
    const floats = typedArrayOf(back) as Float32Array;
    expect(floats.length).toBe(source.length);
    expect(Buffer.from(back.bytes).equals(Buffer.from(source.buffer))).toBe(true);
  });

  it("uploads a 20 MiB tensor through a client stream (hash checked on the server)", async () => {
    const client = createClient(TestingService, fx.address);
    const data = new Uint8Array(20 * MiB + 3);
    randomFillSync(data);
    const frames = (function* () {
      for (const frame of tensorFrames({ dtype: DataType.UINT8, shape: [data.length], data })) yield { frame };
    })();
    const res = await client.upload(frames);
    client.close();
    expect(res.totalBytes).toBe(data.length);
    expect(res.sha256).toBe(createHash("sha256").update(data).digest("hex"));
  });

  it("downloads a server stream in 1 MiB chunks, respecting flow control", async () => {
    const client = createClient(TestingService, fx.address);
    const t = await receiveTensor(client.download({ totalBytes: 20 * MiB, chunkBytes: 0 }), (r) => r.frame);
    client.close();
    expect(t.bytes.length).toBe(20 * MiB);
    for (const i of [0, 255, 256, 1 * MiB + 7, 20 * MiB - 1]) expect(t.bytes[i]).toBe(i & 0xff);
  });
});

describe("tensor frames", () => {
  const header = (totalBytes: number, shape = [totalBytes]): TensorFrame =>
    create(TensorFrameSchema, { frame: { case: "header", value: { dtype: DataType.UINT8, shape, totalBytes } } });
  const chunk = (offset: number, n: number): TensorFrame =>
    create(TensorFrameSchema, { frame: { case: "chunk", value: { offset, data: new Uint8Array(n) } } });

  it("splits into chunks of at most the chunk size, as views", () => {
    const data = new Float32Array(1000);
    const frames = [...tensorFrames({ dtype: DataType.FLOAT32, shape: [10, 100], data }, 1024)];
    expect(frames[0].frame.case).toBe("header");
    const chunks = frames.slice(1).map((f) => (f.frame.case === "chunk" ? f.frame.value.data : new Uint8Array()));
    expect(chunks.map((c) => c.length)).toEqual([1024, 1024, 1024, 928]);
    expect(chunks[1].buffer).toBe(data.buffer);
  });

  it("reassembles several tensors from one stream, unaligned chunk views included", async () => {
    const a = new Int16Array([1, -2, 3]);
    const b = new Float64Array([Math.PI, -0]);
    const frames = [
      ...tensorFrames({ dtype: DataType.INT16, shape: [3], data: a }, 1),
      ...tensorFrames({ dtype: DataType.FLOAT64, shape: [2], data: b }, 3),
    ];
    const got = [];
    for await (const t of receiveTensors(frames)) got.push(Array.from(typedArrayOf(t) as Iterable<number>));
    expect(got).toEqual([
      [1, -2, 3],
      [Math.PI, -0],
    ]);
  });

  it("rejects a shape that does not match the data", () => {
    expect(() => [...tensorFrames({ dtype: DataType.FLOAT32, shape: [3], data: new Float32Array(4) })]).toThrow(
      /need 12/,
    );
  });

  it.each([
    ["a chunk before any header", [chunk(0, 4)], /before any header/],
    ["a wrong offset", [header(8), chunk(0, 4), chunk(5, 4)], /offset 5, expected 4/],
    ["too many bytes", [header(4), chunk(0, 8)], /exceed the announced 4/],
    ["a stream that ends early", [header(8), chunk(0, 4)], /ended after 4 of 8/],
    ["a header whose size disagrees with its shape", [header(8, [3])], /need 3/],
    ["a header above the limit", [header(64)], /exceeds the limit/],
  ])("rejects %s with InvalidInput", async (_name, frames, message) => {
    const run = async () => {
      for await (const _ of receiveTensors(frames as TensorFrame[], undefined, { maxBytes: 32 })) {
      }
    };
    await expect(run()).rejects.toMatchObject({ kind: "InvalidInput", message: expect.stringMatching(message) });
  });
});
