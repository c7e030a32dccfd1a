// Shared rig for the operations tests: production-style environment (external S3 with secrets from files,
// TLS + mTLS, metrics port, HOST 0.0.0.0), throwaway PKI, and the services' production entrypoints as processes.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICE_NAMES, type ServiceName } from "@synthmri/platform";

export const REPO_ROOT = new URL("../../", import.meta.url).pathname;
export const HAS_OPENSSL = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

/** Services whose production entrypoint exists (the others are still being written). */
export function servicesWithEntrypoint(): ServiceName[] {
  return SERVICE_NAMES.filter((s) => existsSync(join(REPO_ROOT, "services", s, "src", "main.ts")));
}

/**
 * Whether the entrypoint serves /metrics yet (calls startMetrics). Services are being written in parallel; the
 * ones that do not are still checked for everything else.
 */
export function servesMetrics(service: ServiceName): boolean {
  return readFileSync(join(REPO_ROOT, "services", service, "src", "main.ts"), "utf8").includes("startMetrics(");
}

/** A port that was free a moment ago (the entrypoints need fixed ports: the health check reads *_PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Pki {
  ca: string;
  cert: string;
  key: string;
}

/**
 * A throwaway CA and one certificate for localhost/127.0.0.1, like the one mounted at /run/tls in compose. It has
 * no extended key usage, so it serves as server and client certificate (the container health check uses it).
 */
export function makePki(dir: string): Pki {
  const ossl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=ops-ca",
  );
  writeFileSync(join(dir, "san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=localhost");
  ossl(
    "x509",
    "-req",
    "-in",
    "tls.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "tls.crt",
    "-days",
    "1",
    "-extfile",
    "san.cnf",
  );
  return { ca: join(dir, "ca.crt"), cert: join(dir, "tls.crt"), key: join(dir, "tls.key") };
}

/** Writes the S3 credentials as secret files (what compose mounts under /run/secrets). */
export function secretFiles(dir: string, s3: { accessKey: string; secretKey: string }): Record<string, string> {
  const secrets = mkdtempSync(join(dir, "secrets-"));
  writeFileSync(join(secrets, "s3_access_key"), `${s3.accessKey}\n`);
  writeFileSync(join(secrets, "s3_secret_key"), `${s3.secretKey}\n`);
  writeFileSync(join(secrets, "deid_salt"), "ops-test-salt-0123456789abcdef\n");
  return {
    S3_ACCESS_KEY_FILE: join(secrets, "s3_access_key"),
    S3_SECRET_KEY_FILE: join(secrets, "s3_secret_key"),
    DEID_SALT_FILE: join(secrets, "deid_salt"),
  };
}

export interface ServiceProcess {
  proc: ChildProcess;
  /** Resolves at the service's "... ready" log line; rejects if it exits first. */
  ready: Promise<void>;
  /** Exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stderr so far (JSON log lines). */
  stderr(): string;
}

/** Starts `node --import tsx services/<s>/src/main.ts` (the Dockerfile's ENTRYPOINT) with only `env` set. */
export function startEntrypoint(service: ServiceName, env: Record<string, string>): ServiceProcess {
  const proc = spawn(process.execPath, ["--import", "tsx", `services/${service}/src/main.ts`], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: tmpdir(),
      NODE_ENV: "production",
      SERVICE: service,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    proc.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      // JSON log lines: {"msg":"ingest service ready"} / {"msg":"evaluator ready"}
      if (/"msg":"[^"]*\bready"/.test(err)) resolve();
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`${service} exited (code ${code}, signal ${signal}) before ready:\n${err}\n${out}`)),
    );
  });
  ready.catch(() => undefined);
  return { proc, ready, exited, stderr: () => err };
}

/** The container health check (deploy/docker/healthcheck.mjs) run against a service, as Docker would. */
export function runHealthcheck(env: Record<string, string>): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "deploy/docker/healthcheck.mjs")], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
