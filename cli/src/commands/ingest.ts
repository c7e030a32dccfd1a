// `synthmri ingest DIR`: imports a BraTS cohort directory as a dataset through the ingest service, with a
// progress bar (subjects, MB/s, ETA) and a final report. Without --addr it starts an in-process ingest
// server on the configured object store (the embedded one under the data dir by default), so it works alone.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { IngestService, type ImportDirectoryResponse, LabelScheme, Layout, OnError } from "@synthmri/contracts";
import { startServer } from "@synthmri/ingest";
import { createLogger, ensureDeidSalt, loadConfig, openObjectStore } from "@synthmri/platform";
import { type ClientOptions, createClient, isRpcError } from "@synthmri/rpc";
import { describeCallError } from "../connect/errors.js";
import { cliClientOptions } from "../connect/service.js";
import { TLS_ARG_OPTIONS, TLS_USAGE, TlsArgsError } from "../connect/tls.js";

export const summary = "import a BraTS cohort directory as a dataset (progress bar and report)";

const USAGE = `usage: synthmri ingest DIR [options]
  --layout auto|brats2020|brats2023|manifest   cohort layout (default auto)
  --manifest FILE                              CSV/JSON manifest, relative to DIR (layout manifest)
  --labels brats2020|brats2023                 label scheme of the segs (default: the layout's)
  --on-error fail|skip                         a bad subject stops the import, or is skipped and reported (default fail)
  --name NAME                                  dataset name
  --size N                                     stored slice side (default: padded size, 256 for BraTS)
  --test-count N | --test-fraction F           held-out subjects (default 56/369 of the cohort)
  --seed N                                     split seed (default 0 = seed 000)
  --max-subjects N                             import only the first N subjects
  --keep-id-mapping                            keep subject id -> key in a separate private object
  --addr HOST:PORT                             use a running ingest service (DIR is read on its machine)
  --json                                       print the final report as JSON
${TLS_USAGE} (with --addr)`;

const LAYOUTS: Record<string, Layout> = {
  auto: Layout.UNSPECIFIED,
  brats2020: Layout.BRATS2020,
  brats2021: Layout.BRATS2020,
  brats2023: Layout.BRATS2023,
  manifest: Layout.MANIFEST,
};
const SCHEMES: Record<string, LabelScheme> = { brats2020: LabelScheme.BRATS2020, brats2023: LabelScheme.BRATS2023 };

function bar(fraction: number, width = 24): string {
  const n = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(n)}${"-".repeat(width - n)}]`;
}

function eta(seconds: number, done: boolean): string {
  if (done) return "0:00";
  if (!Number.isFinite(seconds) || seconds <= 0) return "--:--";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        layout: { type: "string", default: "auto" },
        manifest: { type: "string" },
        labels: { type: "string" },
        "on-error": { type: "string", default: "fail" },
        name: { type: "string" },
        size: { type: "string" },
        "test-count": { type: "string" },
        "test-fraction": { type: "string" },
        seed: { type: "string", default: "0" },
        "max-subjects": { type: "string" },
        "keep-id-mapping": { type: "boolean" },
        addr: { type: "string" },
        json: { type: "boolean" },
        ...TLS_ARG_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`synthmri ingest: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const usage = (msg: string) => {
    console.error(`synthmri ingest: ${msg}\n${USAGE}`);
    return 2;
  };
  if (positionals.length !== 1) return usage("give exactly one cohort directory");
  const layout = LAYOUTS[String(values.layout)];
  if (layout === undefined) return usage(`unknown --layout ${values.layout}`);
  const scheme = values.labels === undefined ? LabelScheme.UNSPECIFIED : SCHEMES[String(values.labels)];
  if (scheme === undefined) return usage(`unknown --labels ${values.labels} (brats2020 or brats2023)`);
  if (values["on-error"] !== "fail" && values["on-error"] !== "skip") return usage("--on-error takes fail or skip");
  const int = (k: string) => {
    const v = values[k];
    if (v === undefined) return 0;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${k} must be a non-negative integer, got ${v}`);
    return n;
  };
  let size: number;
  let testCount: number;
  let seed: number;
  let maxSubjects: number;
  try {
    size = int("size");
    testCount = int("test-count");
    seed = int("seed");
    maxSubjects = int("max-subjects");
  } catch (e) {
    return usage((e as Error).message);
  }
  const testFraction = values["test-fraction"] === undefined ? 0 : Number(values["test-fraction"]);
  if (!(testFraction >= 0 && testFraction < 1)) return usage("--test-fraction must be in [0, 1)");

  // In-process server (plaintext, on loopback) unless --addr names a running one (TLS from the flags or TLS_* env).
  let address = values.addr ? String(values.addr) : "";
  let clientOptions: ClientOptions = {};
  if (address) {
    try {
      clientOptions = { ...cliClientOptions(values), defaultDeadlineMs: 0 };
    } catch (e) {
      if (e instanceof TlsArgsError) return usage(e.message);
      throw e;
    }
  }
  let stop: (() => Promise<void>) | undefined;
  if (!address) {
    const config = loadConfig();
    const logger = createLogger({ name: "ingest", level: process.env.LOG_LEVEL ? config.logLevel : "warn" });
    const opened = await openObjectStore(config, logger);
    const server = await startServer({
      store: opened.store,
      salt: await ensureDeidSalt(config),
      logger,
      keepIdMapping: config.keepIdMapping,
    });
    address = server.address;
    stop = async () => {
      await server.close();
      await opened.close();
    };
  }
  const client = createClient(IngestService, address, clientOptions);
  const tty = process.stderr.isTTY;
  let lastLine = 0;
  let lastDone = -1;
  let final: ImportDirectoryResponse | undefined;
  try {
    for await (const msg of client.importDirectory({
      source: { case: "localPath", value: resolve(positionals[0]) },
      layout,
      manifestPath: values.manifest ? String(values.manifest) : "",
      labelScheme: scheme,
      onError: values["on-error"] === "skip" ? OnError.SKIP : OnError.FAIL,
      name: values.name ? String(values.name) : "",
      split: { seed, testCount, testFraction },
      preprocessing: { size },
      keepIdentityMapping: Boolean(values["keep-id-mapping"]),
      maxSubjects,
    })) {
      final = msg;
      const p = msg.job?.progress;
      if (!p?.total) continue;
      const line = `${bar(p.fraction)} ${p.done}/${p.total} subjects  ${(p.metrics.mbPerSecond ?? 0).toFixed(1)} MB/s  ETA ${eta(p.etaSeconds, p.done === p.total)}`;
      if (tty) process.stderr.write(`\r${line}\x1b[K`);
      else if (p.done !== lastDone && (Date.now() - lastLine > 2000 || p.done === p.total)) {
        process.stderr.write(`${line}\n`);
        lastLine = Date.now();
        lastDone = p.done;
      }
    }
    if (tty) process.stderr.write("\n");
  } catch (e) {
    if (tty) process.stderr.write("\n");
    const msg = isRpcError(e) ? describeCallError(e, "ingest service", address) : (e as Error).message;
    console.error(`synthmri ingest: import failed: ${msg}`);
    return 1;
  } finally {
    client.close();
    await stop?.();
  }
  const r = final?.report;
  if (!r) {
    console.error("synthmri ingest: the import ended without a report");
    return 1;
  }
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          datasetId: r.datasetId,
          subjectsImported: r.subjectsImported,
          skipped: r.skipped.map((s) => ({ subject: s.sourceName, file: s.file, reason: s.reason })),
          trainSlices: r.trainSlices,
          testSlices: r.testSlices,
          bytesRead: Number(r.bytesRead),
          seconds: r.seconds,
        },
        null,
        1,
      ),
    );
  } else {
    console.log(`dataset ${r.datasetId}`);
    console.log(
      `  ${r.subjectsImported} subjects imported, ${r.skipped.length ? new Set(r.skipped.map((s) => s.sourceName)).size : 0} skipped`,
    );
    console.log(`  slices: ${r.trainSlices} train, ${r.testSlices} test`);
    console.log(
      `  read ${(Number(r.bytesRead) / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s (${(Number(r.bytesRead) / 1e6 / Math.max(r.seconds, 1e-3)).toFixed(1)} MB/s)`,
    );
    for (const s of r.skipped) console.log(`  skipped ${s.sourceName}${s.file ? ` (${s.file})` : ""}: ${s.reason}`);
  }
  return 0;
}
