// Unit tests of the partner flow's domain: tokens, anatomy rules, the memorization gate on an injected real
// slice, the archive, the certificate lookup, and a whole request into an in-memory store.
import { Readable } from "node:stream";
import { ArtifactStore, JobRunner, MemoryObjectStore } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import { checkAnatomy } from "../src/partner/domain/anatomy.js";
import { AuditLog } from "../src/partner/domain/audit.js";
import { BUNDLE_KIND, type BundleFields } from "../src/partner/domain/bundle-store.js";
import { latestUtility, NO_EVALUATION } from "../src/partner/domain/certificate.js";
import { PartnerFlow } from "../src/partner/domain/flow.js";
import type { PartnerSampleBatch } from "../src/partner/domain/ports.js";
import { imagesUsed } from "../src/partner/domain/quota.js";
import { DEFAULT_PARTNER_SETTINGS, runPartnerRequest } from "../src/partner/domain/request.js";
import { memorizationGate, screenBatch } from "../src/partner/domain/screen.js";
import { readTar, writeTar } from "../src/partner/domain/tar.js";
import { PartnerDirectory, parsePartnerTokens, sha256Hex } from "../src/partner/domain/tokens.js";
import { CHANNELS, FakeSampler, makeSlice, realSlices, SIZE } from "./partner-fixtures.js";

async function memoryStore(): Promise<MemoryObjectStore> {
  const s = new MemoryObjectStore();
  await s.ensureBucket();
  return s;
}

const noop = { jobId: "job-test", signal: new AbortController().signal, progress: () => undefined };

describe("partner tokens", () => {
  const file = JSON.stringify({
    partners: [
      {
        name: "acme",
        tokenSha256: sha256Hex("tok-acme"),
        scopes: ["datasets:request", "datasets:read"],
        imagesPerDay: 10,
      },
      { name: "reader", tokenSha256: sha256Hex("tok-reader"), scopes: ["datasets:read"], imagesPerDay: 0 },
    ],
  });
  const dir = new PartnerDirectory(parsePartnerTokens(file));

  it("authenticates by hash and checks scopes per method", () => {
    expect(dir.authenticate("tok-acme").name).toBe("acme");
    expect(() => dir.authenticate(undefined)).toThrow(/missing partner token/);
    expect(() => dir.authenticate("tok-wrong")).toThrow(expect.objectContaining({ kind: "Unauthenticated" }));
    const reader = dir.authenticate("tok-reader");
    expect(dir.authorize(reader, "GetBundle")).toBe("datasets:read");
    expect(() => dir.authorize(reader, "RequestSyntheticDataset")).toThrow(
      expect.objectContaining({ kind: "PermissionDenied", message: expect.stringContaining("datasets:request") }),
    );
  });

  it("rejects plaintext tokens, duplicates and unknown scopes with the entry named", () => {
    expect(() =>
      parsePartnerTokens('{"partners":[{"name":"a","tokenSha256":"secret","scopes":[],"imagesPerDay":1}]}'),
    ).toThrow(/partners\[0\]\.tokenSha256 must be 64 hex/);
    const h = sha256Hex("x");
    expect(() =>
      parsePartnerTokens(
        JSON.stringify({ partners: [{ name: "a", tokenSha256: h, scopes: ["admin"], imagesPerDay: 1 }] }),
      ),
    ).toThrow(/scopes must be a list/);
    expect(() =>
      parsePartnerTokens(
        JSON.stringify({
          partners: [
            { name: "a", tokenSha256: h, scopes: [], imagesPerDay: 1 },
            { name: "a", tokenSha256: sha256Hex("y"), scopes: [], imagesPerDay: 1 },
          ],
        }),
      ),
    ).toThrow(/appears twice/);
    expect(() => parsePartnerTokens("{")).toThrow(/not valid JSON/);
  });

  it("reads a partner's own offer of ensembles (ListGenerators), absent = the hospital's offer", () => {
    const h = sha256Hex("x");
    const entry = (ensembles?: unknown) =>
      JSON.stringify({ partners: [{ name: "a", tokenSha256: h, scopes: [], imagesPerDay: 1, ensembles }] });
    expect(parsePartnerTokens(entry())[0].ensembles).toBeUndefined();
    expect(parsePartnerTokens(entry(["ens-1", "ens-1", "ens-2"]))[0].ensembles).toEqual(["ens-1", "ens-2"]);
    expect(() => parsePartnerTokens(entry("ens-1"))).toThrow(/partners\[0\]\.ensembles must be a list of ensemble ids/);
    expect(() => parsePartnerTokens(entry(["../x"]))).toThrow(/ensembles must be a list/);
  });
});

describe("anatomical checks", () => {
  const per = SIZE * SIZE * CHANNELS;
  it("accepts a nested tumour inside the brain and rejects each broken rule", () => {
    const check = (kind: Parameters<typeof makeSlice>[1]) => checkAnatomy(makeSlice(3, kind), 0, SIZE, SIZE, CHANNELS);
    const ok = check("valid");
    expect(ok.pass).toBe(true);
    expect(ok.stats.counts[1] + ok.stats.counts[2] + ok.stats.counts[3]).toBeGreaterThan(0);
    expect(check("outside-brain").reason).toBe("outside-brain");
    expect(check("bad-label").reason).toBe("labels");
    expect(check("floating-core").reason).toBe("nesting");
    // A healthy slice (no tumour) is valid training data.
    const healthy = makeSlice(4);
    for (let p = 0; p < SIZE * SIZE; p++) healthy[p * CHANNELS + 4] = 0;
    expect(checkAnatomy(healthy, 0, SIZE, SIZE, CHANNELS).pass).toBe(true);
    expect(per).toBe(healthy.length);
  });
});

describe("memorization gate", () => {
  it("blocks a real training slice injected as a sample and passes fresh samples", () => {
    const real = realSlices(30);
    const per = SIZE * SIZE * CHANNELS;
    const data = new Uint8Array(4 * per);
    data.set(makeSlice(1), 0);
    data.set(real.data.subarray(17 * per, 18 * per), per); // memorized copy of real slice 17
    data.set(makeSlice(2), 2 * per);
    data.set(makeSlice(3), 3 * per);
    const origins = [0, 1, 2, 3].map((index) => ({
      ensembleId: "e",
      member: 0,
      ganId: "g",
      checkpointKimg: 1,
      seed: 5,
      index,
    }));
    const r = screenBatch(
      { count: 4, size: SIZE, channels: CHANNELS, data, origins },
      { gate: memorizationGate(real) },
    );
    expect(r.rejectedMemorization).toBe(1);
    expect(r.blocked[0].origin.index).toBe(1);
    expect(r.blocked[0].reason).toMatch(/real slice 17/);
    expect(r.accepted.map((a) => a.index)).toEqual([0, 2, 3]);
    expect(Math.max(...r.accepted.map((a) => a.maxNcc))).toBeLessThan(0.95);
  });
});

describe("archive", () => {
  it("round-trips entries", () => {
    const entries = [
      { name: "a/b.txt", data: Buffer.from("hello") },
      { name: "c.bin", data: new Uint8Array(1500).fill(7) },
    ];
    const back = [...readTar(writeTar(entries))];
    expect(back.map((e) => e.name)).toEqual(["a/b.txt", "c.bin"]);
    expect(Buffer.from(back[0].data).toString()).toBe("hello");
    expect(back[1].data.length).toBe(1500);
  });
});

describe("utility certificate lookup", () => {
  it("finds the newest compare report whose condition descends from the ensemble, else nothing", async () => {
    const store = await memoryStore();
    const artifacts = new ArtifactStore({ store });
    expect(await latestUtility(artifacts, "ens-x")).toBeUndefined();
    // synthetic dataset <- ensemble; model <- dataset; evaluation <- model; report lists the evaluation.
    const put = async (kind: string, id: string, inputs: unknown[], params: Record<string, unknown>) => {
      const w = await artifacts.beginArtifact(kind, id);
      await w.putJson("x.json", {});
      return (await w.commit({ inputs: inputs as never, params })).ref;
    };
    const ds = await put("dataset", "syn-1", [], { source: { ensembleId: "ens-x" } });
    const model = await put("seg-model", "m-1", [ds], {});
    await put("evaluation", "ev-syn", [model], {});
    await put("evaluation", "ev-real", [], {});
    const w = await artifacts.beginArtifact("report", "rep-1");
    await w.putJson("report.json", {
      baseline: "real",
      conditions: [
        { name: "real", dice: { WT: { mean: 0.8, std: 0.05 } } },
        { name: "syn-N", dice: { WT: { mean: 0.7, std: 0.04 }, ET: { mean: 0.5, std: 0.1 } } },
      ],
      comparisons: [{ a: "real", b: "syn-N", class: "WT", p_value: 0.01, p_corrected: 0.05 }],
    });
    await w.commit({
      inputs: [],
      params: {
        conditions: [
          { name: "real", evaluationIds: ["ev-real"] },
          { name: "syn-N", evaluationIds: ["ev-syn"] },
        ],
      },
      extra: { report: { kind: "compare", summary: {} } },
    });
    const u = await latestUtility(artifacts, "ens-x");
    expect(u).toMatchObject({ reportId: "rep-1", condition: "syn-N", baseline: "real" });
    expect(u?.diceMean).toEqual({ WT: 0.7, ET: 0.5 });
    expect(u?.diceStd.WT).toBe(0.04);
    expect(u?.pValues).toEqual({ WT: 0.05 });
    expect(await latestUtility(artifacts, "ens-other")).toBeUndefined();
  });
});

describe("runPartnerRequest", () => {
  it("never exports a memorized sample, drops anatomy failures, and writes certificate + provenance", async () => {
    const store = await memoryStore();
    const artifacts = new ArtifactStore({ store });
    const real = realSlices(30);
    const per = SIZE * SIZE * CHANNELS;
    const inject = new Map([[2, real.data.slice(5 * per, 6 * per)]]);
    const sampler = new FakeSampler({ real, inject });
    const r = await runPartnerRequest(
      { artifacts, sampler, settings: { ...DEFAULT_PARTNER_SETTINGS, licence: "research only" } },
      {
        bundleId: "pb-unit-1",
        partner: "acme",
        ensembleId: "ens-test",
        size: 6,
        format: "tensor-shards",
        filters: { minTumorFraction: 0, maxTumorFraction: 0, requireAllClasses: false },
        seed: 9,
        purpose: "test",
      },
      noop,
    );
    expect(r.delivered).toBe(6);
    const c = r.certificate;
    expect(c.rejectedMemorization).toBe(1);
    expect(c.rejectedAnatomy).toBeGreaterThanOrEqual(1); // latent 4 is outside-brain
    expect(c.utilityStatus).toBe(NO_EVALUATION);
    expect(c.licence).toBe("research only");
    expect(c.quality.checkpoint_swd_x1e3_mean).toBeCloseTo(13.5);
    const m = await artifacts.getManifest<BundleFields>(BUNDLE_KIND, "pb-unit-1");
    expect(m.partner).toBe("acme");
    const prov = (await artifacts.readJson(BUNDLE_KIND, "pb-unit-1", "provenance.json")) as {
      samples: { index: number; seed: number; case: string }[];
    };
    expect(prov.samples).toHaveLength(6);
    // Round 0 latents 2 (memorized) and 4 (outside the brain) are missing from what shipped.
    const round0 = prov.samples.filter((s) => s.seed === 9).map((s) => s.index);
    expect(round0).not.toContain(2);
    expect(round0).not.toContain(4);
    expect(m.bundle.entries.map((e) => e.name)).toEqual(
      expect.arrayContaining([
        "shards/train-00000.shard",
        "shards/index.json",
        "certificate.json",
        "provenance.json",
        "LICENCE.txt",
      ]),
    );
  });

  it("fails clearly when too few samples pass, leaving no bundle", async () => {
    const store = await memoryStore();
    const artifacts = new ArtifactStore({ store });
    const sampler = new FakeSampler({ kindOf: () => "bad-label" });
    await expect(
      runPartnerRequest(
        { artifacts, sampler, settings: { ...DEFAULT_PARTNER_SETTINGS, maxDrawFactor: 2 } },
        {
          bundleId: "pb-unit-2",
          partner: "acme",
          ensembleId: "ens-test",
          size: 3,
          format: "nnunet",
          filters: { minTumorFraction: 0, maxTumorFraction: 0, requireAllClasses: false },
          seed: 1,
          purpose: "",
        },
        noop,
      ),
    ).rejects.toThrow(/only 0 of 3 samples passed after 6 draws \(anatomy rejected 6/);
    expect(await artifacts.tryGetManifest(BUNDLE_KIND, "pb-unit-2")).toBeUndefined();
  });
});

describe("quota accounting", () => {
  it("counts accepted sizes and releases failed jobs", async () => {
    const audit = new AuditLog(await memoryStore(), undefined, () => new Date("2026-01-02T03:04:05Z"));
    await audit.record({ type: "request.accepted", partner: "p", size: 5 });
    await audit.record({ type: "request.accepted", partner: "p", size: 3 });
    await audit.record({ type: "request.failed", partner: "p", released: 3 });
    await audit.record({ type: "request.accepted", partner: "q", size: 100 });
    expect(imagesUsed(await audit.events("p", "2026-01-02"))).toBe(5);
  });
});

describe("PartnerFlow jobs", () => {
  it("a cancelled job releases its reserved images", async () => {
    const store = await memoryStore();
    const artifacts = new ArtifactStore({ store });
    const jobs = new JobRunner({ store, service: "generator" });
    const audit = new AuditLog(store);
    let sampling!: () => void;
    const samplingStarted = new Promise<void>((r) => {
      sampling = r;
    });
    class BlockingSampler extends FakeSampler {
      override async *sample(
        _id: string,
        _n: number,
        _seed: number,
        signal?: AbortSignal,
      ): AsyncGenerator<PartnerSampleBatch> {
        sampling();
        await new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
      }
    }
    const flow = new PartnerFlow({
      artifacts,
      sampler: new BlockingSampler(),
      settings: DEFAULT_PARTNER_SETTINGS,
      jobs,
      audit,
      store,
    });
    const account = { name: "p", tokenSha256: "0".repeat(64), scopes: [], imagesPerDay: 5 };
    const input = { size: 5, ensembleId: "ens-test", format: "nnunet" as const, seed: 1, purpose: "" };
    const r = await flow.request(account, input);
    await samplingStarted;
    await expect(flow.request(account, { ...input, size: 1 })).rejects.toMatchObject({ kind: "ResourceExhausted" });
    await jobs.cancel(r.jobId);
    expect((await jobs.wait(r.jobId)).state).toBe("CANCELLED");
    const events = await audit.events("p", audit.today());
    expect(events.map((e) => e.type)).toEqual(["request.accepted", "request.refused", "request.failed"]);
    expect(imagesUsed(events)).toBe(0);
    await jobs.shutdown({ graceMs: 100 });
  });
});

describe("PartnerFlow download", () => {
  it("streams every archive entry intact when the store delivers the archive in small pieces", async () => {
    const store = await memoryStore();
    const getObject = store.getObject.bind(store);
    // 333-byte pieces: entries and tar headers straddle piece boundaries.
    store.getObject = async (key: string) => {
      const all = Buffer.concat(await (await getObject(key)).toArray());
      return Readable.from(
        Array.from({ length: Math.ceil(all.length / 333) }, (_, i) => all.subarray(i * 333, (i + 1) * 333)),
      );
    };
    const artifacts = new ArtifactStore({ store });
    const jobs = new JobRunner({ store, service: "generator" });
    const audit = new AuditLog(store);
    const flow = new PartnerFlow({
      artifacts,
      sampler: new FakeSampler(),
      settings: DEFAULT_PARTNER_SETTINGS,
      jobs,
      audit,
      store,
    });
    const account = { name: "p", tokenSha256: "0".repeat(64), scopes: [], imagesPerDay: 50 };
    const r = await flow.request(account, { size: 3, ensembleId: "ens-test", format: "nnunet", seed: 2, purpose: "" });
    expect((await jobs.wait(r.jobId)).state).toBe("SUCCEEDED");
    const files = new Map<string, Buffer[]>();
    let name = "";
    for await (const f of flow.download(account, r.bundleId)) {
      if ("header" in f) {
        name = f.header.name;
        files.set(name, []);
      } else files.get(name)?.push(Buffer.from(f.chunk.data));
    }
    const archive = await artifacts.readFile(BUNDLE_KIND, r.bundleId, "bundle.tar");
    const expected = [...readTar(archive)];
    expect([...files.keys()]).toEqual(expected.map((e) => e.name));
    for (const e of expected) expect(Buffer.concat(files.get(e.name) ?? []).equals(Buffer.from(e.data))).toBe(true);
    await expect(flow.bundle({ ...account, name: "q" }, r.bundleId)).rejects.toMatchObject({ kind: "NotFound" });
    await jobs.shutdown({ graceMs: 100 });
  });
});
