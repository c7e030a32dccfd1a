// Boots the four services as separate child processes on free ports, sharing ONE embedded object store
// started here, waits for gRPC health SERVING, and stops everything cleanly (SIGTERM, then SIGKILL after a
// grace period). Children log to files so that the terminal stays free for progress bars.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MinioObjectStore, SERVICE_NAMES, type ServiceName, startEmbeddedS3 } from "@synthmri/platform";
import { freePort } from "./free-port.js";
import { checkHealth, type HealthStatus } from "./health.js";

export interface SupervisorOptions {
  /** Repository root (where services/<name>/src/main.ts live). */
  rootDir: string;
  /** Data directory shared by the services; the embedded store keeps its objects under <dataDir>/s3. */
  dataDir: string;
  services?: readonly ServiceName[];
  /** Default <dataDir>/logs. */
  logDir?: string;
  /** Extra environment for the children (e.g. LOG_LEVEL, TF_BACKEND). */
  env?: Record<string, string>;
  /** TRAIN_PROCESSES of the services when the environment does not set it (default DEFAULT_TRAIN_PROCESSES). */
  trainProcesses?: number;
  bucket?: string;
  /** How long a service may take to become SERVING (default 120 s). */
  startTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL at stop (default 15 s). */
  stopGraceMs?: number;
  /** Called as services come up. */
  onEvent?: (event: SupervisorEvent) => void;
}

export type SupervisorEvent =
  | { type: "store"; endpoint: string }
  | { type: "spawned"; service: ServiceName; pid: number; address: string; logFile: string }
  | { type: "serving"; service: ServiceName; address: string; ms: number }
  | { type: "exit"; service: ServiceName; code: number | null; signal: NodeJS.Signals | null; expected: boolean };

export interface ServiceProcessInfo {
  service: ServiceName;
  address: string;
  pid: number;
  logFile: string;
}

export interface S3Access {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export interface Supervisor {
  readonly addresses: Record<ServiceName, string>;
  readonly processes: ServiceProcessInfo[];
  readonly s3: S3Access;
  /** Rejects when a service exits while the supervisor is not stopping (names the service and its log). */
  readonly crashed: Promise<never>;
  health(): Promise<Record<string, HealthStatus>>;
  /** Stops every child (SIGTERM, then SIGKILL after the grace) and the store. Idempotent. */
  stop(): Promise<void>;
}

/** TRAIN_PROCESSES given to the services unless the environment or options.env sets it. */
export const DEFAULT_TRAIN_PROCESSES = 2;

const PARENT_WATCH = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "parent-watch.mjs")).href;

export function serviceEntry(rootDir: string, service: ServiceName): string {
  return join(rootDir, "services", service, "src", "main.ts");
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startSupervisor(options: SupervisorOptions): Promise<Supervisor> {
  const services = options.services ?? SERVICE_NAMES;
  const rootDir = resolve(options.rootDir);
  const dataDir = resolve(options.dataDir);
  const logDir = resolve(options.logDir ?? join(dataDir, "logs"));
  mkdirSync(logDir, { recursive: true });
  for (const s of services) {
    if (!existsSync(serviceEntry(rootDir, s))) {
      throw new Error(
        `service ${s}: ${serviceEntry(rootDir, s)} does not exist (is this the synthmri repository root?)`,
      );
    }
  }
  const bucket = options.bucket ?? process.env.S3_BUCKET ?? "synthmri";
  const embedded = await startEmbeddedS3({ dataDir });
  const s3: S3Access = {
    endpoint: embedded.endpoint,
    accessKey: embedded.accessKey,
    secretKey: embedded.secretKey,
    bucket,
    region: embedded.region,
  };
  options.onEvent?.({ type: "store", endpoint: s3.endpoint });
  // Create the bucket once here: four services racing on it would get BucketAlreadyOwnedByYou.
  await new MinioObjectStore({ ...s3 }).ensureBucket();

  const ports = {} as Record<ServiceName, number>;
  for (const s of services) ports[s] = await freePort();
  const addresses = {} as Record<ServiceName, string>;
  for (const s of services) addresses[s] = `127.0.0.1:${ports[s]}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HOST: "127.0.0.1",
    SYNTHMRI_DATA_DIR: dataDir,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: bucket,
    S3_REGION: s3.region,
    // The generator and the segmenter train in child processes: a backend computes on one JS thread per
    // process, so this is what puts every core of a small machine to work (0 trains in-process).
    TRAIN_PROCESSES: process.env.TRAIN_PROCESSES ?? String(options.trainProcesses ?? DEFAULT_TRAIN_PROCESSES),
    ...options.env,
  };
  for (const s of services) {
    env[`${s.toUpperCase()}_PORT`] = String(ports[s]);
    env[`${s.toUpperCase()}_ADDR`] = addresses[s];
  }

  let stopping = false;
  const children = new Map<ServiceName, ChildProcess>();
  const processes: ServiceProcessInfo[] = [];
  let rejectCrash: (e: Error) => void = () => {};
  const crashed = new Promise<never>((_, reject) => {
    rejectCrash = reject;
  });
  crashed.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  const exits = new Map<ServiceName, Promise<void>>();

  for (const s of services) {
    const logFile = join(logDir, `${s}.log`);
    const fd = openSync(logFile, "a");
    // An IPC channel (unused for messages) lets parent-watch notice when this process dies. Each child is
    // its own process group (detached) so a terminal's Ctrl-C reaches only the supervisor, which then sends
    // exactly one SIGTERM: a second signal would make a service skip its graceful shutdown.
    const child = spawn(process.execPath, ["--import", "tsx", "--import", PARENT_WATCH, serviceEntry(rootDir, s)], {
      cwd: rootDir,
      env,
      stdio: ["ignore", fd, fd, "ipc"],
      detached: true,
    });
    closeSync(fd);
    child.channel?.unref();
    children.set(s, child);
    processes.push({ service: s, address: addresses[s], pid: child.pid ?? -1, logFile });
    options.onEvent?.({ type: "spawned", service: s, pid: child.pid ?? -1, address: addresses[s], logFile });
    exits.set(
      s,
      new Promise<void>((resolveExit) => {
        child.once("exit", (code, signal) => {
          options.onEvent?.({ type: "exit", service: s, code, signal, expected: stopping });
          if (!stopping) {
            rejectCrash(
              new Error(
                `service ${s} exited unexpectedly (code ${code ?? "-"}, signal ${signal ?? "-"}); its log ${logFile} ends with:\n${logTail(logFile)}`,
              ),
            );
          }
          resolveExit();
        });
        child.once("error", (err) => {
          if (!stopping) rejectCrash(new Error(`service ${s} could not start: ${err.message}`));
          resolveExit();
        });
      }),
    );
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      const grace = options.stopGraceMs ?? 15_000;
      await Promise.all(
        [...children.entries()].map(async ([s, child]) => {
          const exit = exits.get(s) ?? Promise.resolve();
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          let timer: NodeJS.Timeout | undefined;
          const killed = new Promise<void>((r) => {
            timer = setTimeout(() => {
              if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
              r();
            }, grace);
          });
          await Promise.race([exit, killed]);
          clearTimeout(timer);
          await exit;
        }),
      );
      await embedded.close();
    })();
    return stopped;
  };

  const supervisor: Supervisor = {
    addresses,
    processes,
    s3,
    crashed,
    async health() {
      const out: Record<string, HealthStatus> = {};
      await Promise.all(services.map(async (s) => (out[s] = await checkHealth(addresses[s]))));
      return out;
    },
    stop,
  };

  try {
    const timeout = options.startTimeoutMs ?? 120_000;
    await Promise.race([
      crashed,
      Promise.all(
        services.map(async (s) => {
          const t0 = Date.now();
          for (;;) {
            if ((await checkHealth(addresses[s], "", 1000)) === "SERVING") break;
            if (Date.now() - t0 > timeout) {
              throw new Error(
                `service ${s} did not become SERVING on ${addresses[s]} within ${timeout / 1000} s; its log ${join(logDir, `${s}.log`)} ends with:\n${logTail(join(logDir, `${s}.log`))}`,
              );
            }
            await new Promise((r) => setTimeout(r, 200));
          }
          options.onEvent?.({ type: "serving", service: s, address: addresses[s], ms: Date.now() - t0 });
        }),
      ),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return supervisor;
}
