import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AlreadyExists,
  ArtifactStore,
  artifactIdFor,
  type EmbeddedS3,
  FailedPrecondition,
  InvalidInput,
  MinioObjectStore,
  NotFound,
  startEmbeddedS3,
  stableStringify,
} from "../src/index.js";

let dir: string;
let s3: EmbeddedS3;
let objects: MinioObjectStore;
let artifacts: ArtifactStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "platform-artifacts-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  objects = new MinioObjectStore({ ...s3, bucket: "test-artifacts" });
  await objects.ensureBucket();
  artifacts = new ArtifactStore({ store: objects, provenance: { service: "test" } });
});

afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

describe("ArtifactStore", () => {
  it("writes files, commits the manifest last, and reads back verified files", async () => {
    const w = await artifacts.beginArtifact("dataset", "ds-1");
    const a = await w.putFile("volumes/a.bin", Buffer.from("aaaa"));
    expect(a).toEqual({ bucket: "test-artifacts", key: "dataset/ds-1/volumes/a.bin", sha256: sha("aaaa"), size: 4 });
    const streamed = await w.putFile("slices/s.bin", Readable.from([Buffer.from("st"), Buffer.from("ream")]));
    expect(streamed.sha256).toBe(sha("stream"));
    expect(streamed.size).toBe(6);
    await w.putJson("meta/info.json", { n: 2 });
    // Not visible before commit, even though its files are in the bucket.
    await expect(artifacts.getManifest("dataset", "ds-1")).rejects.toThrow(NotFound);
    expect((await artifacts.listArtifacts("dataset")).map((x) => x.id)).not.toContain("ds-1");
    await expect(artifacts.readFile("dataset", "ds-1", "volumes/a.bin")).rejects.toThrow(NotFound);

    const input = { bucket: "test-artifacts", key: "x/y", sha256: sha("y"), size: 1 };
    const { manifest, ref } = await w.commit({
      inputs: [input],
      params: { slices: 2 },
      provenance: { seed: 7 },
      extra: { subjects: 1 },
    });
    expect(manifest).toMatchObject({
      kind: "dataset",
      schemaVersion: 1,
      id: "ds-1",
      inputs: [input],
      params: { slices: 2 },
      provenance: { service: "test", seed: 7 },
      subjects: 1,
    });
    expect(Object.keys(manifest.checksums)).toEqual(["meta/info.json", "slices/s.bin", "volumes/a.bin"]);
    expect(ref.key).toBe("dataset/ds-1/manifest.json");
    expect(ref.sha256).toBe(sha(await objects.getBuffer(ref.key)));
    expect(await artifacts.manifestRef("dataset", "ds-1")).toEqual(ref);

    // A fresh store (no cache) sees the same thing.
    const fresh = new ArtifactStore({ store: objects });
    expect((await fresh.getManifest("dataset", "ds-1")).checksums["volumes/a.bin"].sha256).toBe(sha("aaaa"));
    expect((await fresh.readFile("dataset", "ds-1", "slices/s.bin")).toString()).toBe("stream");
    expect(await fresh.readJson("dataset", "ds-1", "meta/info.json")).toEqual({ n: 2 });
    expect((await fresh.listArtifacts("dataset")).map((x) => x.id)).toContain("ds-1");
    await expect(fresh.readFile("dataset", "ds-1", "volumes/zzz.bin")).rejects.toThrow(/no file "volumes\/zzz.bin"/);
    await expect(artifacts.beginArtifact("dataset", "ds-1")).rejects.toThrow(AlreadyExists);
    await expect(w.putFile("late.bin", "x")).rejects.toThrow(FailedPrecondition);
  });

  it("detects a file overwritten after commit", async () => {
    const w = await artifacts.beginArtifact("report", "r-corrupt");
    await w.putFile("r.txt", "good");
    await w.commit();
    await objects.putObject("report/r-corrupt/r.txt", "evil");
    await expect(artifacts.readFile("report", "r-corrupt", "r.txt")).rejects.toThrow(/checksum/);
  });

  it("abort removes the written files; delete removes manifest then files", async () => {
    const w = await artifacts.beginArtifact("seg-model");
    expect(w.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{8}$/);
    await w.putFile("weights.bin", Buffer.alloc(10));
    await w.abort();
    const left = [];
    for await (const o of objects.listObjects(w.prefix)) left.push(o.key);
    expect(left).toEqual([]);

    const w2 = await artifacts.beginArtifact("seg-model", "m-2");
    await w2.putFile("weights.bin", Buffer.alloc(10));
    await w2.commit();
    await artifacts.deleteArtifact("seg-model", "m-2");
    await expect(artifacts.getManifest("seg-model", "m-2")).rejects.toThrow(NotFound);
    expect(await objects.exists("seg-model/m-2/weights.bin")).toBe(false);
    await expect(artifacts.deleteArtifact("seg-model", "m-2")).rejects.toThrow(NotFound);
  });

  it("refuses bad kinds, ids, paths and extra fields that shadow the standard ones", async () => {
    await expect(artifacts.beginArtifact("Bad Kind")).rejects.toThrow(InvalidInput);
    await expect(artifacts.beginArtifact("dataset", "../x")).rejects.toThrow(InvalidInput);
    const w = await artifacts.beginArtifact("report", "r-bad");
    await expect(w.putFile("../escape", "x")).rejects.toThrow(InvalidInput);
    await expect(w.putFile("manifest.json", "x")).rejects.toThrow(InvalidInput);
    await w.putFile("once.txt", "x");
    await expect(w.putFile("once.txt", "x")).rejects.toThrow(/written twice/);
    await expect(w.commit({ extra: { id: "other" } })).rejects.toThrow(/overwrite/);
  });

  it("sweeps orphan files older than the cutoff and leaves committed and young ones", async () => {
    const orphan = await artifacts.beginArtifact("evaluation", "orphan-1");
    await orphan.putFile("part.bin", "half");
    const kept = await artifacts.beginArtifact("evaluation", "kept-1");
    await kept.putFile("part.bin", "whole");
    await kept.commit();
    // Now: nothing is older than 5 minutes.
    expect(await artifacts.sweepOrphans({ olderThanMinutes: 5, kinds: ["evaluation"] })).toEqual([]);
    // Ten minutes later the orphan is old enough.
    const later = new ArtifactStore({ store: objects, now: () => new Date(Date.now() + 10 * 60_000) });
    expect(await later.sweepOrphans({ olderThanMinutes: 5, kinds: ["evaluation"] })).toEqual([
      { kind: "evaluation", id: "orphan-1", files: 1 },
    ]);
    expect(await objects.exists("evaluation/orphan-1/part.bin")).toBe(false);
    expect(await objects.exists("evaluation/kept-1/part.bin")).toBe(true);
  });

  it("content-addressed ids are stable and skip repeated work", async () => {
    expect(stableStringify({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe('{"a":[1,{"d":2}],"b":1}');
    const id1 = artifactIdFor("ensemble", { params: { lr: 0.001, members: 3 }, inputs: ["x"] });
    const id2 = artifactIdFor("ensemble", { inputs: ["x"], params: { members: 3, lr: 0.001 } });
    expect(id1).toBe(id2);
    expect(id1).toMatch(/^[0-9a-f]{32}$/);
    expect(artifactIdFor("ensemble", { params: { members: 4 } })).not.toBe(id1);
    expect(artifactIdFor("report", { params: { lr: 0.001, members: 3 }, inputs: ["x"] })).not.toBe(id1);
    expect(() => artifactIdFor("x", { v: Number.NaN })).toThrow(/finite/);
    expect(() => artifactIdFor("x", { v: new Float32Array(2) })).toThrow(/binary/);

    let runs = 0;
    const produce = async (w: { putFile(p: string, b: string): Promise<unknown> }) => {
      runs++;
      await w.putFile("out.txt", "result");
      return { params: { members: 3 } };
    };
    const [first, concurrent] = await Promise.all([
      artifacts.ensureArtifact("ensemble", { members: 3 }, produce),
      artifacts.ensureArtifact("ensemble", { members: 3 }, produce),
    ]);
    const second = await artifacts.ensureArtifact("ensemble", { members: 3 }, produce);
    // Whichever of the two concurrent calls came first produced; the other shared its result.
    expect([first.cached, concurrent.cached].sort()).toEqual([false, true]);
    expect(concurrent.manifest.id).toBe(first.manifest.id);
    expect(second.cached).toBe(true);
    expect(second.manifest.id).toBe(first.manifest.id);
    expect(runs).toBe(1);
    await expect(
      artifacts.ensureArtifact("ensemble", { members: 5 }, async (w) => {
        await w.putFile("partial.txt", "x");
        throw new Error("training diverged");
      }),
    ).rejects.toThrow("training diverged");
    expect(await objects.exists(`ensemble/${artifactIdFor("ensemble", { members: 5 })}/partial.txt`)).toBe(false);
  });
});
