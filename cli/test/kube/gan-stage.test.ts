// The GAN stage's seam to the Kubernetes executor: with a ScaleOut (spec executor: kubernetes) the ensemble and
// each control GAN go to the cluster with the request the generator service would get, under Job names unique in
// the experiment; the generator's TrainEnsemble is not called. Without one, nothing changes (run-experiment tests).
import { GanFamily } from "@synthmri/contracts";
import { ArtifactStore, MemoryObjectStore } from "@synthmri/platform";
import { expect, it } from "vitest";
import type { ServiceClients } from "../../src/experiment/clients.js";
import { ProgressHistory } from "../../src/experiment/progress-history.js";
import { ArtifactStageStore, StageCache } from "../../src/experiment/stage-cache.js";
import { experimentContext } from "../../src/experiment/stages/context.js";
import { addGanRows, trainControlGan, trainGanEnsemble } from "../../src/experiment/stages/gan.js";
import type { GanEnsembleRequest, ScaleOut } from "../../src/kube/scale-out.js";
import { ProgressBoard } from "../../src/ui/progress-board.js";
import { loadPreset } from "../spec-helpers.js";

it("trains the ensemble and the control GANs through the ScaleOut, not the generator service", async () => {
  const store = new MemoryObjectStore();
  await store.ensureBucket();
  const asked: GanEnsembleRequest[] = [];
  const verified: string[] = [];
  const scaleOut: ScaleOut = {
    trainUnetRuns: async () => {
      throw new Error("not a U-Net stage");
    },
    trainGanEnsemble: async (r) => {
      asked.push(r);
      return { ensembleId: `kube-gan-${r.jobName}`, jobId: `kube-gan-${r.jobName}` };
    },
  };
  const clients = {
    addresses: { ingest: "i:1", generator: "g:1", segmenter: "s:1", evaluator: "e:1" },
    generator: {
      trainEnsemble: async () => {
        throw new Error("the generator service must not train on the kubernetes executor");
      },
      // The cached stage is verified through the service, which reads the ensemble the cluster wrote.
      getEnsemble: async ({ ensembleId }: { ensembleId: string }) => {
        verified.push(ensembleId);
        return {};
      },
    },
  } as unknown as ServiceClients;
  const spec = loadPreset("demo");
  spec.gan = { ...spec.gan, family: "stylegan2", members: 3 };
  const ctx = experimentContext({
    spec,
    experimentId: "demo-0123456789ab",
    clients,
    cache: new StageCache(new ArtifactStageStore(new ArtifactStore({ store }))),
    board: new ProgressBoard({ write: () => undefined }),
    history: new ProgressHistory(),
    workDir: "/nowhere",
    outDir: "/nowhere",
    evaluatorWritesOutDir: false,
    scaleOut,
  });
  addGanRows(ctx, ["half-a"]);
  const data = { datasetId: "real-ds", cohort: {}, trainSubjectKeys: ["s1", "s2"] };

  const gan = await trainGanEnsemble(ctx, data);
  expect(gan).toEqual({ ensembleId: "kube-gan-demo-0123456789ab-ensemble", memberJobIds: [] });
  const control = await trainControlGan(ctx, data, { gan: "half-a", subjectKeys: ["s1"], seed: 77 } as never);
  expect(control.ensembleId).toBe("kube-gan-demo-0123456789ab-control-half-a");

  expect(asked[0]).toMatchObject({
    jobName: "demo-0123456789ab-ensemble",
    datasetId: "real-ds",
    members: 3,
    baseSeed: spec.seed,
    family: GanFamily.STYLEGAN2,
    config: { resolution: spec.gan.resolution || spec.data.sliceSize, batchSize: spec.gan.batchSize },
  });
  expect(asked[1]).toMatchObject({ members: 1, baseSeed: 77, config: { trainSubjectKeys: ["s1"] } });
  // The stage is cached as with the service: a second run asks nothing.
  expect(await trainGanEnsemble(ctx, data)).toEqual(gan);
  expect(asked).toHaveLength(2);
  expect(verified).toEqual([gan.ensembleId]);
});
