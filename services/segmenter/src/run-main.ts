// One U-Net run as a standalone process: what each pod of the experiment runner's U-Net Indexed Job runs
// (cli/src/kube). Item index = JOB_COMPLETION_INDEX; the item and its result live under WORK_PREFIX in the object
// store (packages/platform/src/store/work-items.ts). Training checkpoints to the object store, so a pod that is
// retried resumes the run where it stopped. Exit 0 when the run's model is published and its result written.
//
// Env: WORK_PREFIX, JOB_COMPLETION_INDEX, plus the usual S3_* / TF_BACKEND / LOG_LEVEL.
import { InvalidInput, loadConfigOrExit } from "@synthmri/platform";
import { StoreDatasetReader } from "./adapters/dataset-store.js";
import { runUnetItem } from "./domain/indexed-run.js";
import { openProcessDeps } from "./process-deps.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const prefix = process.env.WORK_PREFIX ?? "";
  if (!prefix) throw new InvalidInput("WORK_PREFIX is not set (the experiment runner sets it on the Job)");
  const raw = process.env.JOB_COMPLETION_INDEX ?? "0";
  const index = Number(raw);
  if (!Number.isInteger(index) || index < 0)
    throw new InvalidInput(`JOB_COMPLETION_INDEX="${raw}" must be a non-negative integer`);
  const d = await openProcessDeps(config, "segmenter-run");
  const ac = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => ac.abort(new Error(`${sig} received`)));
  const started = Date.now();
  try {
    const r = await runUnetItem(
      {
        artifacts: d.artifacts,
        datasets: new StoreDatasetReader(d.artifacts),
        provenance: d.provenance,
        logger: d.logger,
      },
      prefix,
      index,
      ac.signal,
    );
    d.logger.info("run finished", { modelId: r.modelId, index, seconds: (Date.now() - started) / 1000 });
  } finally {
    await d.objects.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`U-Net run failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
