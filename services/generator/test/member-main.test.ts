// member-main.ts, the entrypoint of one ensemble member as a cluster pod runs it (the Helm chart's Indexed Job):
// it trains member JOB_COMPLETION_INDEX with seed BASE_SEED + index and records the ensemble. Resume after kill -9
// of a training job is covered, for every family and the training child, by test/reliability/training-crash.test.ts.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { latestCheckpoint } from "../src/domain/checkpoints.js";
import { processEnv, useProcessStore } from "./fixtures.js";

const h = useProcessStore("generator-member-", { beforeAll, afterAll });

it("member-main.ts trains one ensemble member as a cluster pod would (index, seed = BASE_SEED + index, record)", async () => {
  const MEMBER = fileURLToPath(new URL("../src/member-main.ts", import.meta.url));
  const proc = spawn(process.execPath, ["--import", "tsx", MEMBER], {
    env: {
      ...processEnv(h.s3, h.dir),
      LOG_LEVEL: "warn",
      ENSEMBLE_ID: "ens-k8s",
      ENSEMBLE_MEMBERS: "3",
      DATASET_ID: "toy",
      BASE_SEED: "40",
      JOB_COMPLETION_INDEX: "1",
      GAN_RESOLUTION: "8",
      GAN_KIMG: "0.016",
      GAN_SETTINGS_JSON: JSON.stringify({ latentDim: 8, fmapMax: 8, fmapMin: 4, kimgPerPhase: 0.008, batchSize: 8 }),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  h.procs.push(proc);
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
  expect(code, stderr.slice(-2000)).toBe(0);
  const latest = await latestCheckpoint(h.store, h.artifacts, "ens-k8s-m1");
  expect(latest?.manifest).toMatchObject({ seed: 41, member: 1, ensembleId: "ens-k8s", final: true, resolution: 8 });
  const record = JSON.parse((await h.store.getBuffer("generator/ensembles/ens-k8s.json")).toString());
  expect(record.members.map((m: { seed: number }) => m.seed)).toEqual([40, 41, 42]);
}, 120_000);
