import { describe, expect, it } from "vitest";
import {
  ArtifactStore,
  FailedPrecondition,
  InvalidInput,
  JobRunner,
  MemoryObjectStore,
  NotFound,
} from "../src/index.js";

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("MemoryObjectStore (same contract as the S3 store, for fast domain tests)", () => {
  it("behaves like the S3 store", async () => {
    const store = new MemoryObjectStore("mem");
    await expect(store.putObject("a", "x")).rejects.toThrow(/ensureBucket/);
    await store.ensureBucket();
    await store.putObject("a/one.json", '{"x":1}', { contentType: "application/json", metadata: { Stage: "t" } });
    await store.putObject("a/b/two.bin", Buffer.from([1, 2, 3]));
    expect((await store.statObject("a/one.json")).metadata).toEqual({ stage: "t" });
    expect((await collect(store.listObjects("a/"))).map((o) => o.key)).toEqual(["a/b/two.bin", "a/one.json"]);
    expect(await collect(store.listPrefixes("a/"))).toEqual(["a/b/"]);
    await expect(store.getBuffer("a/none")).rejects.toThrow(NotFound);
    await expect(store.getBuffer("a/none")).rejects.toThrow(/"a\/none"/);
    await expect(store.putObject("../escape", "x")).rejects.toThrow(InvalidInput);
    await expect(store.presignedGetUrl("a/one.json")).rejects.toThrow(FailedPrecondition);
    expect(await store.deletePrefix("a/")).toBe(2);
  });

  it("carries artifacts and jobs", async () => {
    const store = new MemoryObjectStore();
    await store.ensureBucket();
    const artifacts = new ArtifactStore({ store });
    const w = await artifacts.beginArtifact("dataset", "d1");
    await w.putFile("x.bin", Buffer.from("abc"));
    await w.commit({ params: { n: 1 } });
    expect((await artifacts.readFile("dataset", "d1", "x.bin")).toString()).toBe("abc");
    const runner = new JobRunner({ store, service: "mem" });
    const id = runner.start("k", { a: 1 }, async (ctx) => (ctx.params as { a: number }).a + 1);
    expect((await runner.wait(id)).result).toBe(2);
  });
});
