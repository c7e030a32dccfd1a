// `synthmri` command: one entry, subcommands loaded lazily so that `synthmri nifti info` does not pay for tfjs.
// Each command module exports `run(argv: string[]): Promise<number>` (the exit code) and `summary`.
import { readFileSync } from "node:fs";

type CommandModule = { run(argv: string[]): Promise<number>; summary?: string };

// The summary is repeated here (a test keeps it equal to the module's export) so that `synthmri --help` lists them
// without loading every command: the service-backed ones load tfjs, which takes seconds.
export const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  start: {
    summary: "boot every service on embedded defaults and run the main job (the demo experiment)",
    load: () => import("./commands/start.js"),
  },
  nifti: {
    summary: "inspect NIfTI files (info) and check a reference set (conformance)",
    load: () => import("./commands/nifti.js"),
  },
  phantom: {
    summary: "write a synthetic BraTS-2020-layout cohort (phantom brains with tumours)",
    load: () => import("./commands/phantom.js"),
  },
  ingest: {
    summary: "import a BraTS cohort directory as a dataset (progress bar and report)",
    load: () => import("./commands/ingest.js"),
  },
  experiment: {
    summary: "run the seed-000 experiment from a spec (presets demo, paper) or rerun a manifest",
    load: () => import("./commands/experiment.js"),
  },
  segment: {
    summary: "segment one subject's four sequences into a label NIfTI with a trained model",
    load: () => import("./commands/segment.js"),
  },
  partner: {
    summary: "partner: request, download and verify a certified synthetic dataset",
    load: () => import("./commands/partner.js"),
  },
  console: {
    summary: "web console: jobs, datasets, samples, models, reports and a NIfTI viewer in the browser",
    load: () => import("./commands/console.js"),
  },
  datasets: {
    summary: "list, show and delete the datasets in the object store (ingest service)",
    load: () => import("./commands/datasets.js"),
  },
  jobs: {
    summary: "list, watch and cancel the services' jobs (imports, trainings, evaluations)",
    load: () => import("./commands/jobs.js"),
  },
  ensembles: {
    summary: "list and show the trained GAN ensembles (generator service)",
    load: () => import("./commands/ensembles.js"),
  },
  models: {
    summary: "list, load and unload the trained U-Net models (segmenter service)",
    load: () => import("./commands/models.js"),
  },
};

/** The suite's version: the root package.json's (one version for the CLI and the services' images). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export function usage(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines = names.map((n) => `  ${n.padEnd(width)}${commands[n].summary}`);
  return `usage: synthmri <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nRun 'synthmri <command> --help' for a command's options, 'synthmri --version' for the version.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V") {
    console.log(`synthmri ${version()}`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = Object.hasOwn(commands, name) ? commands[name].load : undefined;
  if (!load) {
    console.error(`synthmri: unknown command '${name}'.\n${usage()}`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = await load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
      console.error(`synthmri: command '${name}' is not available in this build.`);
      return 2;
    }
    throw e;
  }
  // OpenTelemetry: with OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT set, a command's calls share one trace
  // under a "synthmri <command>" span (long-running console/start get a span per request or job instead).
  // The tracing module alone (not all of platform): `synthmri nifti info` stays quick.
  const { initTracing, inSpan } = await import("@synthmri/platform/tracing");
  const tracing = await initTracing({ service: "synthmri-cli", version: version() });
  try {
    return LONG_RUNNING.has(name) ? await mod.run(rest) : await inSpan(`synthmri ${name}`, () => mod.run(rest));
  } finally {
    await tracing.shutdown();
  }
}

/** Commands that serve until stopped: one span over their lifetime would never end while they run. */
const LONG_RUNNING = new Set(["console", "start"]);

const isEntry = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isEntry || process.env.SYNTHMRI_CLI_ENTRY === "1") {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`synthmri: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
