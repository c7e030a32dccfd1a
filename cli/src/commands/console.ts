// `synthmri console`: the web console. Boots the services on the embedded defaults (the same supervisor as
// `npm start`, same data dir, so its results are there) or connects to running ones, then prints the URL.
import { parseArgs } from "node:util";
import { MinioObjectStore } from "@synthmri/platform";
import { addressesFromEnv } from "../experiment/command.js";
import { REPO_ROOT } from "../experiment/session.js";
import { type Supervisor, startSupervisor } from "../supervisor/supervisor.js";

export const summary = "web console: jobs, datasets, samples, models, reports and a NIfTI viewer in the browser";

const USAGE = `usage: synthmri console [--data-dir DIR] [--host 127.0.0.1] [--port 0]
       [--ingest ADDR --generator ADDR --segmenter ADDR --evaluator ADDR]

Without addresses (or INGEST_ADDR ... EVALUATOR_ADDR) it starts the four services on the data dir that
'npm start' uses (default .data), so the demo experiment's results are there. The URL carries the access token
(random per start, or CONSOLE_TOKEN). S3_ENDPOINT/S3_ACCESS_KEY/S3_SECRET_KEY let it show report figures of
running services.`;

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        "data-dir": { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        ingest: { type: "string" },
        generator: { type: "string" },
        segmenter: { type: "string" },
        evaluator: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`synthmri console: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const given = ["ingest", "generator", "segmenter", "evaluator"].filter((k) => values[k]);
  if (given.length > 0 && given.length < 4) {
    console.error(`synthmri console: give all four service addresses or none (got ${given.join(", ")})`);
    return 2;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`synthmri console: --port must be 0..65535, got ${values.port}`);
    return 2;
  }
  let addresses =
    given.length === 4
      ? {
          ingest: String(values.ingest),
          generator: String(values.generator),
          segmenter: String(values.segmenter),
          evaluator: String(values.evaluator),
        }
      : addressesFromEnv();
  let supervisor: Supervisor | undefined;
  let store: MinioObjectStore | undefined;
  if (!addresses) {
    const dataDir = String(values["data-dir"] ?? process.env.SYNTHMRI_DATA_DIR ?? ".data");
    console.log(`starting services on ${dataDir} ...`);
    supervisor = await startSupervisor({ rootDir: REPO_ROOT, dataDir });
    addresses = supervisor.addresses;
    store = new MinioObjectStore({ ...supervisor.s3 });
  } else if (process.env.S3_ENDPOINT && process.env.S3_ACCESS_KEY && process.env.S3_SECRET_KEY) {
    store = new MinioObjectStore({
      endpoint: process.env.S3_ENDPOINT,
      accessKey: process.env.S3_ACCESS_KEY,
      secretKey: process.env.S3_SECRET_KEY,
      bucket: process.env.S3_BUCKET ?? "synthmri",
      region: process.env.S3_REGION ?? "us-east-1",
    });
  }
  // Loaded lazily: esbuild and the connect routes are only for this command.
  const { startConsole } = await import("@synthmri/console");
  const web = await startConsole({ addresses, store, host: String(values.host ?? "127.0.0.1"), port });
  console.log(`synthmri console: open ${web.openUrl}\n(Ctrl-C stops it${supervisor ? " and the services" : ""})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    supervisor?.crashed.catch((e: Error) => {
      console.error(e.message);
      resolve();
    });
  });
  await web.close();
  await supervisor?.stop();
  return 0;
}
