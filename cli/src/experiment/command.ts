// Shared by `synthmri experiment run|rerun` and `synthmri start`: argument parsing, spec loading, signals,
// exit codes (0 done, 1 failed, 2 bad usage or spec, 130/143 interrupted).
import { setMaxListeners } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { InvalidInput } from "@synthmri/platform";
import type { Addresses } from "./clients.js";
import { runFamilies } from "./families.js";
import { consoleHint, EXPERIMENT_MANIFEST_SCHEMA, runSession, type SessionOptions } from "./session.js";
import { type ExperimentSpec, PRESETS, loadPreset, loadSpecFile, validateSpec } from "./spec.js";

export const RUN_OPTIONS = {
  preset: { type: "string" },
  data: { type: "string" },
  dataset: { type: "string" },
  out: { type: "string", default: "out" },
  "data-dir": { type: "string" },
  estimate: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Addresses of running services from INGEST_ADDR etc., when all four are set. */
export function addressesFromEnv(env = process.env): Addresses | undefined {
  const a = {
    ingest: env.INGEST_ADDR,
    generator: env.GENERATOR_ADDR,
    segmenter: env.SEGMENTER_ADDR,
    evaluator: env.EVALUATOR_ADDR,
  };
  if (Object.values(a).every((v) => v)) return a as Addresses;
  return undefined;
}

export function loadSpecFromArgs(
  positional: string | undefined,
  values: { preset?: string; data?: string; dataset?: string },
): ExperimentSpec {
  if (positional && values.preset) throw new InvalidInput("give a spec file or --preset, not both");
  if (values.data && values.dataset) throw new InvalidInput("give --data DIR or --dataset ID, not both");
  const overrides = { dataPath: values.data, datasetId: values.dataset };
  if (positional) return loadSpecFile(positional, overrides);
  return loadPreset(values.preset ?? "demo", overrides);
}

export function loadManifestSpec(path: string): ExperimentSpec {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new InvalidInput(`experiment manifest ${abs} does not exist`);
  let m: { schema?: string; spec?: unknown };
  try {
    m = JSON.parse(readFileSync(abs, "utf8"));
  } catch (e) {
    throw new InvalidInput(`${abs} is not JSON: ${(e as Error).message}`);
  }
  if (m.schema !== EXPERIMENT_MANIFEST_SCHEMA || !m.spec) {
    throw new InvalidInput(
      `${abs} is not an experiment manifest (expected schema ${EXPERIMENT_MANIFEST_SCHEMA} with a spec)`,
    );
  }
  return validateSpec(m.spec, `${abs} (spec)`);
}

/** Runs a session with Ctrl-C/SIGTERM handling; returns the exit code. */
export async function runWithSignals(
  spec: ExperimentSpec,
  values: { out?: string; "data-dir"?: string },
): Promise<number> {
  const controller = new AbortController();
  // Every job follower of a run listens on this one signal (dozens with per-run U-Net jobs and control GANs).
  setMaxListeners(256, controller.signal);
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (s: NodeJS.Signals) => {
    if (signalled) return;
    signalled = s;
    process.stderr.write(
      `\n${s}: stopping the experiment and the services (finished stages are kept; run again to continue)\n`,
    );
    controller.abort(new Error(`interrupted by ${s}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const connect = addressesFromEnv();
    const s3 =
      connect && process.env.S3_ENDPOINT && process.env.S3_ACCESS_KEY && process.env.S3_SECRET_KEY
        ? {
            endpoint: process.env.S3_ENDPOINT,
            accessKey: process.env.S3_ACCESS_KEY,
            secretKey: process.env.S3_SECRET_KEY,
            bucket: process.env.S3_BUCKET ?? "synthmri",
            region: process.env.S3_REGION ?? "us-east-1",
          }
        : undefined;
    const outRoot = values.out ?? "out";
    const runOne = (s: ExperimentSpec, extra: Pick<SessionOptions, "afterRun"> = {}) =>
      runSession({
        ...extra,
        spec: s,
        outRoot,
        dataDir: values["data-dir"] ?? process.env.SYNTHMRI_DATA_DIR ?? ".data",
        connect,
        s3,
        signal: controller.signal,
      });
    if (spec.gan.families.length > 0) {
      await runFamilies(spec, outRoot, runOne);
      // The family comparison prints last: repeat where to browse the runs.
      console.log(consoleHint(values["data-dir"] ?? process.env.SYNTHMRI_DATA_DIR ?? ".data", connect));
    } else await runOne(spec);
    return 0;
  } catch (err) {
    if (signalled) return signalled === "SIGINT" ? 130 : 143;
    process.stderr.write(`experiment failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export const RUN_USAGE = `usage:
  synthmri experiment run [SPEC.yaml|SPEC.json] [--preset ${PRESETS.join("|")}] [--data BRATS_DIR | --dataset ID] [--out DIR] [--data-dir DIR]
                                        --dataset: an ingested cohort (the id 'synthmri ingest' printed) instead of the spec's data
  synthmri experiment run [SPEC|--preset P] --estimate   device-hours the spec will cost on this machine's backend
                                                          (one GAN and one U-Net step measured; nothing trains)
  synthmri experiment rerun out/<experiment-id>/experiment.json [--out DIR]

Boots the services and an embedded object store (unless INGEST_ADDR, GENERATOR_ADDR, SEGMENTER_ADDR and
EVALUATOR_ADDR point at running ones), runs the experiment and writes out/<experiment-id>/report.md.
Finished stages are reused; an interrupted run continues where it stopped.`;

export function parseRunArgs(argv: string[]) {
  return parseArgs({ args: argv, options: RUN_OPTIONS, allowPositionals: true });
}
