// One experiment run from the command line: boots the services (unless addresses are given), opens the stage
// cache, runs the experiment with live progress, writes the outputs and the experiment manifest, prints the
// table and the report's path, and stops everything on the way out (also on Ctrl-C / SIGTERM).
import { mkdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { scaleOutForSpec } from "../kube/from-spec.js";
import { ArtifactStore, MinioObjectStore, type ObjectStore, artifactIdFor } from "@synthmri/platform";
import { DEFAULT_TRAIN_PROCESSES, type Supervisor, startSupervisor, type S3Access } from "../supervisor/supervisor.js";
import { ProgressBoard, type Writable, formatSeconds } from "../ui/progress-board.js";
import { type Addresses, type ServiceClients, connectServices } from "./clients.js";
import {
  fetchReportFiles,
  linkFiguresInReport,
  readReportJson,
  summarizeReport,
  writeSampleGrids,
  writeTrainingCurves,
} from "./outputs.js";
import { renderVerdicts, writeVerdicts } from "./verdicts.js";
import { encoderFrechetRows, REFERENCE_ROW, renderEncoderFrechet, writeEncoderFrechet } from "./encoder-frechet.js";
import { type ExperimentResult, runExperiment } from "./run-experiment.js";
import type { ExperimentSpec } from "./spec.js";
import { ArtifactStageStore, FileStageStore, StageCache } from "./stage-cache.js";

export const EXPERIMENT_MANIFEST_SCHEMA = "synthmri.experiment/v1";

export interface SessionOptions {
  spec: ExperimentSpec;
  /** Parent of out/<experiment-id> (default ./out). */
  outRoot: string;
  /** Services' data dir when the supervisor boots them (default ./.data). */
  dataDir: string;
  /** Running services to use instead of booting them. */
  connect?: Addresses;
  /** Object store the services use (for the stage cache and report files) when connecting. */
  s3?: S3Access;
  /** Extra environment for supervised services. */
  serviceEnv?: Record<string, string>;
  out?: Writable;
  /** Stop signal from the caller (Ctrl-C). */
  signal?: AbortSignal;
  /** More measurements on the finished experiment while its services still run (the families report's). */
  afterRun?: (run: { clients: ServiceClients; result: ExperimentResult; outDir: string }) => Promise<void>;
}

export interface SessionResult {
  experimentId: string;
  outDir: string;
  manifestPath: string;
  wallSeconds: number;
  result: ExperimentResult;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function experimentIdOf(spec: ExperimentSpec): string {
  // Where the runs train (executor, kubernetes) does not change what is computed: same id, same results.
  const { executor: _where, kubernetes: _cluster, ...what } = spec;
  return `${spec.name}-${artifactIdFor("experiment", what).slice(0, 12)}`;
}

export async function runSession(options: SessionOptions): Promise<SessionResult> {
  const out = options.out ?? process.stdout;
  const t0 = Date.now();
  const spec = options.spec;
  const experimentId = experimentIdOf(spec);
  const outDir = resolve(options.outRoot, experimentId);
  mkdirSync(outDir, { recursive: true });
  const print = (s: string) => out.write(`${s}\n`);
  print(`experiment ${experimentId} (${spec.description ?? spec.name})`);

  let supervisor: Supervisor | undefined;
  let store: ObjectStore | undefined;
  const stopAll = async () => {
    await supervisor?.stop();
  };
  try {
    let addresses = options.connect;
    let s3 = options.s3;
    if (!addresses) {
      print(`starting services (logs in ${join(resolve(options.dataDir), "logs")}) ...`);
      supervisor = await startSupervisor({
        rootDir: REPO_ROOT,
        dataDir: options.dataDir,
        env: {
          LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
          ...importRootsEnv(spec, options.dataDir),
          ...options.serviceEnv,
        },
        // Enough training processes for the ensemble's concurrency: with 2 slots and 3 members the third member
        // trains alone while a core idles.
        trainProcesses: Math.max(DEFAULT_TRAIN_PROCESSES, spec.gan.concurrency),
        onEvent: (e) => {
          if (e.type === "store") print(`  object store   ${e.endpoint} (embedded, shared by all services)`);
          if (e.type === "serving")
            print(`  ${e.service.padEnd(14)} ${e.address}  SERVING (${(e.ms / 1000).toFixed(1)} s)`);
        },
      });
      addresses = supervisor.addresses;
      s3 = supervisor.s3;
    }
    if (s3) {
      store = new MinioObjectStore({ ...s3 });
    }
    const cache = new StageCache(
      store
        ? new ArtifactStageStore(new ArtifactStore({ store, provenance: { service: "cli" } }))
        : new FileStageStore(join(outDir, ".stages")),
    );
    const clients = connectServices(addresses);
    const board = new ProgressBoard(out);
    let result: ExperimentResult;
    try {
      const run = runExperiment({
        spec,
        experimentId,
        clients,
        cache,
        board,
        workDir: resolve(options.dataDir),
        outDir,
        evaluatorWritesOutDir: supervisor !== undefined,
        signal: options.signal,
        scaleOut: scaleOutForSpec(spec, store, options.s3),
      });
      result = await (supervisor ? Promise.race([run, supervisor.crashed]) : run);
      board.add("outputs", "figures and report files", "cli");
      board.update("outputs", { state: "running", message: "report files" });
      const files = await fetchReportFiles(result, outDir, store);
      const verdicts = writeVerdicts(outDir, spec, result.quality);
      board.update("outputs", { fraction: 0.1, message: "Fréchet distance on the real U-Net's encoder" });
      const frechet = await encoderFrechetRows(clients, result).catch((e: Error) => [
        { source: REFERENCE_ROW, error: e.message },
      ]);
      writeEncoderFrechet(outDir, frechet);
      board.update("outputs", { fraction: 0.3, message: "sample grids" });
      files.push(...(await writeSampleGrids(clients, result, outDir)));
      board.update("outputs", { fraction: 0.7, message: "training curves" });
      files.push(...writeTrainingCurves(result, outDir));
      linkFiguresInReport(outDir, files);
      board.update("outputs", { state: "done", message: `${files.length} files` });
      await options.afterRun?.({ clients, result, outDir });
      board.close();

      const wallSeconds = (Date.now() - t0) / 1000;
      const manifest = {
        schema: EXPERIMENT_MANIFEST_SCHEMA,
        experimentId,
        spec,
        startedAt: new Date(t0).toISOString(),
        finishedAt: new Date().toISOString(),
        wallSeconds,
        services: addresses,
        seeds: {
          experiment: spec.seed,
          split: spec.seed,
          ganBaseSeed: spec.seed,
          synthetic: spec.seed,
          segmenterBaseSeed: spec.seed,
          permutation: spec.seed,
        },
        artifacts: {
          dataset: result.datasetId,
          cohort: result.cohort,
          ensemble: result.ensembleId,
          ganMemberJobs: result.memberJobIds,
          controlGans: result.controlGans,
          synthetic: result.synthetic,
          ganDraws: result.draws,
          models: result.models,
          evaluations: result.evaluations,
          report: result.reportId,
          reportFiles: result.report.files.map((f) => ({ key: f.key, sha256: f.sha256, size: Number(f.size) })),
        },
        stages: result.stages,
        outputs: files,
      };
      const manifestPath = join(outDir, "experiment.json");
      writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
      if (store) {
        // Content-addressed: the same results give the same experiment artifact.
        const artifacts = new ArtifactStore({ store, provenance: { service: "cli" } });
        const { stages: _s, startedAt: _a, finishedAt: _f, wallSeconds: _w, services: _v, ...stable } = manifest;
        await artifacts.ensureArtifact("experiment", stable, async (w) => {
          await w.putJson("experiment.json", manifest);
          return { params: { name: spec.name, experimentId }, extra: { experiment: stable } };
        });
      }
      const reportJson = readReportJson(outDir);
      print("");
      print(summarizeReport(reportJson, result.report.markdown));
      if (verdicts.length) print(`\n${renderVerdicts(verdicts)}`);
      print(`\n${renderEncoderFrechet(frechet)}`);
      print("");
      const cached = result.stages.filter((s) => s.how === "cached").length;
      print(
        `done in ${formatSeconds(wallSeconds)} (${result.stages.length} stages, ${cached} reused from cache). Report: ${join(outDir, "report.md")}`,
      );
      print(`experiment manifest: ${manifestPath} (repeat with: npx synthmri experiment rerun ${manifestPath})`);
      print(consoleHint(options.dataDir, options.connect));
      return { experimentId, outDir, manifestPath, wallSeconds, result };
    } finally {
      board.close();
      clients.close();
    }
  } finally {
    await stopAll();
  }
}

/**
 * The last line of a run: how to open its results in the web console (the same data dir starts the same
 * services; running services are reached by their addresses).
 */
export function consoleHint(dataDir: string, connect?: Addresses): string {
  const args = connect
    ? `--ingest ${connect.ingest} --generator ${connect.generator} --segmenter ${connect.segmenter} --evaluator ${connect.evaluator}`
    : `--data-dir ${dataDir}`;
  return `open the results in the web console: npx synthmri console ${args} (then open the URL it prints: jobs, GAN curves and samples, models, the report)`;
}

/** The services may import from their data dir (phantom cohorts) and, for a real cohort, its directory. */
function importRootsEnv(spec: ExperimentSpec, dataDir: string): Record<string, string> {
  if (spec.data.source !== "directory" || !spec.data.path || process.env.IMPORT_ROOTS) return {};
  return { IMPORT_ROOTS: [resolve(dataDir), resolve(spec.data.path)].join(delimiter) };
}
