// ListGenerators over real gRPC on the partner listener (embedded S3, FakeSampler with two trained ensembles):
// the offer is scoped per partner (a partner's own `ensembles` list, else every trained ensemble), a request outside
// it reads as an unknown ensemble, the scope is datasets:request, and each card says "not certified" / "not
// measured" explicitly until evaluator reports descend from the ensemble, then carries their Dice and max-NCC
// percentiles (synthetic vs the real held-out baseline). Issue 19.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PartnerService } from "@synthmri/contracts";
import { ArtifactStore, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { rpcFailure as failure } from "@synthmri/rpc/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePartnerConfig } from "../src/partner/adapters/partner-config.js";
import { sha256Hex } from "../src/partner/domain/tokens.js";
import { type StartedServer, startServer } from "../src/server.js";
import { run as partnerCli } from "../../../cli/src/commands/partner.js";
import { FakeSampler } from "./partner-fixtures.js";

let dir: string;
let s3: Awaited<ReturnType<typeof startEmbeddedS3>>;
let server: StartedServer;
let artifacts: ArtifactStore;
let jobs: JobRunner;
let addr: string;

const client = (token: string) =>
  createClient(PartnerService, addr, { metadata: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "partner-gen-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  artifacts = new ArtifactStore({ store });
  jobs = new JobRunner({ store, service: "generator", persistIntervalMs: 50 });
  const file = join(dir, "partners.json");
  const text = JSON.stringify({
    partners: [
      { name: "acme", tokenSha256: sha256Hex("tok-acme"), scopes: ["datasets:request"], imagesPerDay: 100 },
      {
        name: "scoped",
        tokenSha256: sha256Hex("tok-scoped"),
        scopes: ["datasets:request", "datasets:read"],
        imagesPerDay: 100,
        ensembles: ["ens-b"],
      },
      { name: "reader", tokenSha256: sha256Hex("tok-reader"), scopes: ["datasets:read"], imagesPerDay: 100 },
    ],
    defaultEnsembleId: "ens-test",
    nccThreshold: 0.9,
  });
  await writeFile(file, text);
  const sampler = new FakeSampler({ otherEnsembles: ["ens-b"] });
  server = await startServer(
    { artifacts, store, jobs },
    { partner: { config: await parsePartnerConfig(text, file), sampler: () => sampler } },
  );
  if (!server.partner) throw new Error("no partner listener");
  addr = server.partner.address;
});

afterAll(async () => {
  await server?.close(1000);
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** synthetic dataset <- ensemble, model <- dataset, evaluation <- model; then a compare and a memorization report. */
async function evaluate(ensembleId: string): Promise<void> {
  const put = async (kind: string, id: string, inputs: unknown[], params: Record<string, unknown>) => {
    const w = await artifacts.beginArtifact(kind, id);
    await w.putJson("x.json", {});
    return (await w.commit({ inputs: inputs as never, params })).ref;
  };
  const syn = await put("dataset", "syn-1", [], { source: { ensembleId } });
  const model = await put("seg-model", "m-1", [syn], {});
  await put("evaluation", "ev-syn", [model], {});
  await put("evaluation", "ev-real", [], {});
  const compare = await artifacts.beginArtifact("report", "rep-compare");
  await compare.putJson("report.json", {
    baseline: "real",
    conditions: [
      { name: "real", dice: { WT: { mean: 0.8, std: 0.05 } } },
      { name: "syn", dice: { WT: { mean: 0.71, std: 0.04 }, ET: { mean: 0.5, std: 0.1 } } },
    ],
    comparisons: [{ a: "real", b: "syn", class: "WT", p_value: 0.01, p_corrected: 0.03 }],
  });
  await compare.commit({
    inputs: [],
    params: {
      conditions: [
        { name: "real", evaluationIds: ["ev-real"] },
        { name: "syn", evaluationIds: ["ev-syn"] },
      ],
    },
    extra: { report: { kind: "compare", summary: {} } },
  });
  const quantiles = (v: number[]) => [0.5, 0.95, 0.99, 1].map((q, i) => ({ q, value: v[i] }));
  const mem = await artifacts.beginArtifact("report", "rep-mem");
  await mem.putJson("report.json", {
    schema: "synthmri.memorization/v1",
    n_synthetic: 64,
    n_real: 40,
    ncc_threshold: 0.93,
    synthetic_max_ncc: { n: 64, mean: 0.6, quantiles: quantiles([0.61, 0.8, 0.85, 0.88]) },
    calibration: { held_out_max_ncc: { n: 12, mean: 0.7, quantiles: quantiles([0.7, 0.9, 0.92, 0.93]) } },
  });
  await mem.commit({
    inputs: [syn],
    params: {},
    extra: { report: { kind: "memorization", summary: { memorized_fraction: 0.015625, n_synthetic: 64 } } },
  });
}

describe("PartnerService.ListGenerators", () => {
  it("lists the offer per partner with explicit 'not certified' cards; requests outside it are unknown", async () => {
    const all = await client("tok-acme").listGenerators({});
    expect(all.generators.map((g) => g.ensembleId)).toEqual(["ens-test", "ens-b"]);
    const card = all.generators[0];
    expect(card).toMatchObject({
      name: "ens-test (fake)",
      family: "progan",
      resolution: 32,
      members: 2,
      isDefault: true,
      gateNccThreshold: 0.9,
      trainingData: { subjects: 8, slices: 40 },
      utility: { status: "not certified", reportId: "" },
      memorization: { status: "not measured", reportId: "" },
    });
    expect(card.utility?.diceMean).toEqual({});
    expect(card.createdAt?.seconds).toBe(BigInt(Date.parse("2026-11-30T10:00:00Z") / 1000));

    const scoped = await client("tok-scoped").listGenerators({});
    expect(scoped.generators.map((g) => g.ensembleId)).toEqual(["ens-b"]);
    expect(scoped.generators[0].isDefault).toBe(false);
    // The default is not in this partner's offer: a request naming none, or naming it, is refused as unknown.
    const outside = await failure(client("tok-scoped").requestSyntheticDataset({ size: 1 }));
    expect(outside.code).toBe(5);
    expect(outside.details).toMatch(/not offered to partner "scoped"; ListGenerators/);
    const inside = await client("tok-scoped").requestSyntheticDataset({ size: 1, ensembleId: "ens-b" });
    expect((await jobs.wait(inside.jobId)).state).toBe("SUCCEEDED");

    // The synthmri CLI prints the same cards as JSON.
    const lines: string[] = [];
    const errs: string[] = [];
    const code = await partnerCli(["generators", "--addr", addr, "--token", "tok-scoped"], {
      out: (l) => lines.push(l),
      err: (l) => errs.push(l),
      env: {},
    });
    expect(code, errs.join("\n")).toBe(0);
    expect(JSON.parse(lines.join("\n"))).toEqual([
      expect.objectContaining({
        ensembleId: "ens-b",
        trainingData: { subjects: 8, slices: 40 },
        utility: expect.objectContaining({ status: "not certified", evaluatedAt: "" }),
        createdAt: "2026-11-30T10:00:00Z",
      }),
    ]);

    const denied = await failure(client("tok-reader").listGenerators({}));
    expect(denied.code).toBe(7);
    expect(denied.details).toMatch(/datasets:request/);
  }, 60_000);

  it("carries the utility certificate and memorization percentiles once reports descend from the ensemble", async () => {
    await evaluate("ens-test");
    const { generators } = await client("tok-acme").listGenerators({});
    const card = generators.find((g) => g.ensembleId === "ens-test");
    expect(card?.utility).toMatchObject({
      status: "certified",
      reportId: "rep-compare",
      condition: "syn",
      baseline: "real",
      diceMean: { WT: 0.71, ET: 0.5 },
      diceStd: { WT: 0.04, ET: 0.1 },
      pValues: { WT: 0.03 },
    });
    expect(card?.utility?.evaluatedAt).toBeDefined();
    expect(card?.memorization).toMatchObject({
      status: "measured",
      reportId: "rep-mem",
      syntheticSamples: 64,
      realTrainSlices: 40,
      realHeldOutSlices: 12,
      syntheticMaxNcc: { p50: 0.61, p95: 0.8, p99: 0.85, max: 0.88 },
      realHeldOutMaxNcc: { p50: 0.7, p95: 0.9, p99: 0.92, max: 0.93 },
      nccThreshold: 0.93,
      flaggedFraction: 0.015625,
    });
    // The other ensemble's card is untouched by reports that do not descend from it.
    const other = generators.find((g) => g.ensembleId === "ens-b");
    expect(other?.utility?.status).toBe("not certified");
    expect(other?.memorization?.status).toBe("not measured");
  }, 60_000);
});
