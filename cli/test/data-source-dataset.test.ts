// data.source: dataset — an experiment on a cohort ingested before with `synthmri ingest` (issue 19.2).
import { create } from "@bufbuild/protobuf";
import { DatasetSchema, Origin, Split } from "@synthmri/contracts";
import { RpcError } from "@synthmri/rpc";
import { describe, expect, it } from "vitest";
import type { ServiceClients } from "../src/experiment/clients.js";
import type { ExperimentContext } from "../src/experiment/stages/context.js";
import { describeCohort, ingestCohort } from "../src/experiment/stages/data.js";
import { ProgressBoard } from "../src/ui/progress-board.js";
import { validateSpec } from "./spec-helpers.js";

function context(datasets: Record<string, ReturnType<typeof create<typeof DatasetSchema>>>, spec: unknown) {
  const calls: string[] = [];
  const clients = {
    addresses: { ingest: "i:1", generator: "g:1", segmenter: "s:1", evaluator: "e:1" },
    ingest: {
      getDataset: async ({ datasetId }: { datasetId: string }) => {
        calls.push(`get:${datasetId}`);
        const d = datasets[datasetId];
        if (!d) throw new RpcError(5, `dataset ${datasetId} not found`, "/synthmri.ingest.v1.IngestService/GetDataset");
        return { dataset: d };
      },
      importDirectory: () => {
        calls.push("import");
        throw new Error("must not import");
      },
    },
  } as unknown as ServiceClients;
  const ctx = {
    spec: validateSpec(spec),
    clients,
    board: new ProgressBoard({ write: () => {} }),
    where: (s: string) => s,
  } as unknown as ExperimentContext;
  return { ctx, calls };
}

const real = create(DatasetSchema, {
  id: "ds-real",
  origin: Origin.REAL,
  sliceShape: [32, 32, 5],
  trainSlices: 100,
  testSlices: 20,
  subjects: [
    { key: "s-train", split: Split.TRAIN },
    { key: "s-test", split: Split.TEST },
  ],
});

describe("data.source: dataset", () => {
  it("the spec needs data.datasetId, and only with that source", () => {
    expect(() => validateSpec({ name: "x", data: { source: "dataset" } })).toThrow(/data.datasetId: is required/);
    expect(() => validateSpec({ name: "x", data: { source: "phantom", datasetId: "d" } })).toThrow(
      /data.datasetId: only applies/,
    );
    const s = validateSpec({ name: "x", data: { source: "dataset", datasetId: "ds-real" } });
    expect(describeCohort(s)).toEqual({ kind: "dataset", datasetId: "ds-real" });
  });

  it("uses the ingested dataset without importing anything", async () => {
    const { ctx, calls } = context({ "ds-real": real }, { name: "x", data: { source: "dataset", datasetId: "ds-real", sliceSize: 32 } });
    const refs = await ingestCohort(ctx);
    expect(refs).toEqual({
      datasetId: "ds-real",
      cohort: { kind: "dataset", datasetId: "ds-real" },
      trainSubjectKeys: ["s-train"],
    });
    expect(calls).toEqual(["get:ds-real"]);
  });

  it("an unknown id, a synthetic set or another slice size are clear spec errors", async () => {
    const unknown = context({}, { name: "x", data: { source: "dataset", datasetId: "nope", sliceSize: 32 } });
    await expect(ingestCohort(unknown.ctx)).rejects.toThrow(/data.datasetId: dataset nope does not exist.*synthmri datasets list/);
    const synthetic = context(
      { syn: create(DatasetSchema, { ...real, id: "syn", origin: Origin.SYNTHETIC }) },
      { name: "x", data: { source: "dataset", datasetId: "syn", sliceSize: 32 } },
    );
    await expect(ingestCohort(synthetic.ctx)).rejects.toThrow(/is a synthetic dataset/);
    const size = context({ "ds-real": real }, { name: "x", data: { source: "dataset", datasetId: "ds-real", sliceSize: 64 } });
    await expect(ingestCohort(size.ctx)).rejects.toThrow(/data.sliceSize: 64 differs .* set data.sliceSize: 32/);
  });
});
