// End-to-end SegmentVolume through the segmenter service: embedded store, a seg-model with the bench-unet
// architecture (untrained weights: timing does not depend on them), one phantom subject (default
// 240x240x155) streamed as four .nii.gz files, the label NIfTI streamed back. Prints one JSON line.
// Env: SEG_BENCH_SIZE (volume XxYxZ, default 240x240x155), SEG_BENCH_INPUT (net side, default 128),
// SEG_BENCH_TTA=1 (flip TTA), SEG_BENCH_REPEATS (default 2; the first call loads the model).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SegmenterService } from "@synthmri/contracts";
import { BENCH_UNET, initBackend, saveUNet, UNet } from "@synthmri/ml";
import { ArtifactStore, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { ModelStore, segmentVolumeRemote, startServer } from "@synthmri/segmenter";
import { generatePhantomSubject, phantomSubjectFiles, SEED000_SLICE_PARAMS } from "@synthmri/volume";

export async function benchSegmenterInfer(): Promise<Record<string, unknown>> {
  const size = (process.env.SEG_BENCH_SIZE ?? "240x240x155").split("x").map(Number) as [number, number, number];
  const side = Number(process.env.SEG_BENCH_INPUT ?? 128);
  const repeats = Number(process.env.SEG_BENCH_REPEATS ?? 2);
  const tta = process.env.SEG_BENCH_TTA === "1";
  const backend = await initBackend({});
  const dir = await mkdtemp(join(tmpdir(), "seg-bench-"));
  const s3 = await startEmbeddedS3({ dataDir: dir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  const artifacts = new ArtifactStore({ store });
  const net = new UNet({ ...BENCH_UNET, inputSize: [side, side] }, 1);
  await new ModelStore(artifacts).publish(
    {
      model: {
        id: "bench",
        version: 1,
        name: "bench",
        run: 0,
        seed: 1,
        sources: [],
        mixture: "equal",
        unet: net.config,
        train: { epochs: 0, iterationsPerEpoch: 0, batchSize: 0, lr: 0, polyExponent: 0, momentum: 0, weightDecay: 0 },
        augmentation: {},
        validationDice: null,
        bestEpoch: 0,
        preprocessing: {
          dataset: { ...SEED000_SLICE_PARAMS, size: 256 },
          datasetSize: 256,
          inputSize: side,
          normalization: "zscore-brain",
        },
        jobId: "bench",
        labels: {},
        weights: "model.smunet",
      },
    },
    saveUNet(net),
    {},
    { inputs: [], params: {}, provenance: {} },
  );
  net.dispose();
  const server = await startServer({ artifacts, jobs: new JobRunner({ store, service: "segmenter" }) });
  const client = createClient(SegmenterService, server.address);
  const subject = generatePhantomSubject(0, { size });
  const files: Record<string, { name: string; bytes: Uint8Array }> = {};
  for (const [name, bytes] of Object.entries(phantomSubjectFiles(subject))) {
    const role = name.replace(/^.*_/, "").replace(".nii.gz", "");
    if (role !== "seg") files[role] = { name, bytes };
  }
  const runs: { totalSeconds: number; inferenceSeconds: number }[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const r = await segmentVolumeRemote(client, "bench", files, { tta });
    runs.push({ totalSeconds: (performance.now() - t0) / 1000, inferenceSeconds: r.inferenceSeconds });
  }
  client.close();
  await server.close(1000);
  await s3.close();
  await rm(dir, { recursive: true, force: true });
  const warm = runs.slice(1).length ? runs.slice(1) : runs;
  return {
    bench: "segmenter-infer",
    backend: backend.name,
    volume: size.join("x"),
    netInput: side,
    tta,
    firstCallSeconds: runs[0].totalSeconds,
    warmTotalSeconds: Math.min(...warm.map((r) => r.totalSeconds)),
    warmInferenceSeconds: Math.min(...warm.map((r) => r.inferenceSeconds)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchSegmenterInfer().then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
