// ONE configuration object for the whole suite, read from environment variables (documented in docs.ts,
// rendered to packages/platform/CONFIG.md) and validated up front so a bad value stops the process at start.
import { existsSync } from "node:fs";
import { delimiter, isAbsolute, resolve } from "node:path";
import type { LoggerLevel } from "../log/logger.js";
import { ConfigError } from "./config-error.js";
import { bool, type Env, hostPort, int, oneOf, optionalPort, port, raw, secret } from "./parse.js";

export const SERVICE_NAMES = ["ingest", "generator", "segmenter", "evaluator"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export const TF_BACKENDS = ["auto", "tensorflow-gpu", "tensorflow", "wasm", "cpu"] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];

export interface ServiceEndpoint {
  /** Port this service listens on (0 = any free port). */
  port: number;
  /** Where clients reach it; undefined when the port is 0 and no *_ADDR was given (the supervisor passes it). */
  addr: string | undefined;
}

export interface S3Config {
  /** Normalised "http(s)://host:port"; undefined = start the embedded s3rver. */
  endpoint: string | undefined;
  accessKey: string | undefined;
  secretKey: string | undefined;
  bucket: string;
  region: string;
  useSsl: boolean;
}

export interface TlsConfig {
  certFile: string | undefined;
  keyFile: string | undefined;
  caFile: string | undefined;
  clientAuth: boolean;
  /** true when TLS_CERT and TLS_KEY are set. */
  enabled: boolean;
}

export interface Config {
  host: string;
  services: Record<ServiceName, ServiceEndpoint>;
  dataDir: string;
  s3: S3Config;
  logLevel: LoggerLevel;
  tfBackend: TfBackendChoice;
  grpc: {
    maxMessageBytes: number;
    shutdownGraceMs: number;
    /** A client stream (upload) that sends nothing for this long is ended with DEADLINE_EXCEEDED. */
    clientStreamIdleMs: number;
  };
  /** What ImportDirectory may read; everything else is refused with PERMISSION_DENIED before listing. */
  imports: ImportsConfig;
  tls: TlsConfig;
  /** From DEID_SALT; when undefined use ensureDeidSalt(config) (random, persisted per data dir). */
  deidSalt: string | undefined;
  keepIdMapping: boolean;
  partnerTokensFile: string | undefined;
  /**
   * Port of the generator's partner listener (PartnerService + the partner's own jobs, every call token
   * authenticated), separate from the internal GENERATOR_PORT; only opened when partnerTokensFile is set.
   */
  partnerPort: number;
  /**
   * "http(s)://host[:port]" of the object store as partners reach it (a reverse proxy, a public DNS name): presigned
   * download URLs are signed for this address, since the signature covers the host. undefined = S3_ENDPOINT.
   */
  partnerPublicS3Endpoint: string | undefined;
  /** undefined = no metrics endpoint. */
  metricsPort: number | undefined;
  jobConcurrency: number;
  /**
   * Most training child processes one service (generator, segmenter) runs at once; 0 = train inside the
   * service process. wasm tfjs is single-threaded, so parallel trainings need processes.
   */
  trainProcesses: number;
}

export interface ImportsConfig {
  /** Absolute directories local_path must lie in (after resolving symlinks). */
  roots: string[];
  /** "bucket/prefix" entries an s3_prefix source must fall under. */
  s3Prefixes: string[];
}

const DEFAULT_PORTS: Record<ServiceName, number> = {
  ingest: 50051,
  generator: 50052,
  segmenter: 50053,
  evaluator: 50054,
};
export const DEFAULT_PARTNER_PORT = 50055;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const host = raw(env, "HOST") ?? "127.0.0.1";
  if (!/^[A-Za-z0-9._:-]+$/.test(host)) throw new ConfigError("HOST", `"${host}" is not a host name or IP address`);
  const clientHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const services = {} as Record<ServiceName, ServiceEndpoint>;
  for (const s of SERVICE_NAMES) {
    const P = s.toUpperCase();
    const p = port(env, `${P}_PORT`, DEFAULT_PORTS[s]);
    const hostForAddr = clientHost.includes(":") ? `[${clientHost}]` : clientHost;
    services[s] = { port: p, addr: hostPort(env, `${P}_ADDR`, p === 0 ? undefined : `${hostForAddr}:${p}`) };
  }
  const dataDir = resolve(cwd, raw(env, "SYNTHMRI_DATA_DIR") ?? ".data");
  const tls = loadTls(env, cwd);
  const deidSalt = secret(env, "DEID_SALT", cwd);
  if (deidSalt !== undefined && deidSalt.length < 16) {
    throw new ConfigError(
      "DEID_SALT",
      `is ${deidSalt.length} characters; use at least 16 random characters or unset it`,
    );
  }
  const partnerTokensFile = raw(env, "PARTNER_TOKENS_FILE");
  const partnerPort = port(env, "PARTNER_PORT", DEFAULT_PARTNER_PORT);
  // Only when the partner listener opens: without tokens the port is unused and may coincide.
  if (partnerTokensFile !== undefined && partnerPort !== 0 && partnerPort === services.generator.port)
    throw new ConfigError(
      "PARTNER_PORT",
      `${partnerPort} is also GENERATOR_PORT; the partner listener needs its own port (internal RPCs must not be reachable there)`,
    );
  return {
    host,
    services,
    dataDir,
    s3: loadS3(env, cwd),
    logLevel: oneOf(env, "LOG_LEVEL", ["debug", "info", "warn", "error", "silent"] as const, "info"),
    tfBackend: oneOf(env, "TF_BACKEND", TF_BACKENDS, "auto"),
    grpc: {
      maxMessageBytes: int(env, "GRPC_MAX_MESSAGE_BYTES", 8 * 1024 * 1024, 64 * 1024, 2 ** 31 - 1),
      shutdownGraceMs: int(env, "GRPC_SHUTDOWN_GRACE_MS", 10_000, 0, 3_600_000),
      clientStreamIdleMs: int(env, "GRPC_CLIENT_STREAM_IDLE_MS", 60_000, 100, 3_600_000),
    },
    imports: loadImports(env, cwd, dataDir),
    tls,
    deidSalt,
    keepIdMapping: bool(env, "KEEP_ID_MAPPING", false),
    partnerTokensFile: partnerTokensFile === undefined ? undefined : resolve(cwd, partnerTokensFile),
    partnerPort,
    partnerPublicS3Endpoint: httpOrigin(env, "PARTNER_PUBLIC_S3_ENDPOINT"),
    metricsPort: optionalPort(env, "METRICS_PORT"),
    jobConcurrency: int(env, "JOB_CONCURRENCY", 1, 1, 64),
    trainProcesses: int(env, "TRAIN_PROCESSES", 0, 0, 64),
  };
}

function loadImports(env: Env, cwd: string, dataDir: string): ImportsConfig {
  const roots = (raw(env, "IMPORT_ROOTS") ?? dataDir)
    .split(delimiter)
    .filter((r) => r.trim() !== "")
    .map((r) => resolve(cwd, r.trim()));
  const bucket = raw(env, "S3_BUCKET") ?? "synthmri";
  const s3Prefixes = (raw(env, "IMPORT_S3_PREFIXES") ?? `${bucket}/imports/`)
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  for (const p of s3Prefixes) {
    const b = p.split("/")[0] ?? "";
    if (!p.includes("/") || !isBucketName(b)) {
      throw new ConfigError("IMPORT_S3_PREFIXES", `"${p}" is not bucket/prefix (e.g. hospital/brats/)`);
    }
  }
  if (roots.some((r) => !isAbsolute(r))) throw new ConfigError("IMPORT_ROOTS", "needs absolute directories");
  return { roots, s3Prefixes };
}

/** S3 bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending alphanumeric, no "..". */
export function isBucketName(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.includes("..");
}

function loadS3(env: Env, cwd: string): S3Config {
  const useSsl = bool(env, "S3_USE_SSL", false);
  const bucket = raw(env, "S3_BUCKET") ?? "synthmri";
  if (!isBucketName(bucket)) {
    throw new ConfigError(
      "S3_BUCKET",
      `"${bucket}" is not a bucket name (3-63 of a-z 0-9 . -, starting and ending alphanumeric)`,
    );
  }
  const region = raw(env, "S3_REGION") ?? "us-east-1";
  if (!/^[a-z0-9-]+$/.test(region))
    throw new ConfigError("S3_REGION", `"${region}" is not a region name (e.g. us-east-1)`);
  const rawEndpoint = raw(env, "S3_ENDPOINT");
  const accessKey = secret(env, "S3_ACCESS_KEY", cwd);
  const secretKey = secret(env, "S3_SECRET_KEY", cwd);
  let endpoint: string | undefined;
  if (rawEndpoint !== undefined) {
    const withScheme = /^[a-z]+:\/\//i.test(rawEndpoint)
      ? rawEndpoint
      : `${useSsl ? "https" : "http"}://${rawEndpoint}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new ConfigError("S3_ENDPOINT", `"${rawEndpoint}" is not http(s)://host[:port] or host[:port]`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || (url.pathname !== "/" && url.pathname !== "")) {
      throw new ConfigError("S3_ENDPOINT", `"${rawEndpoint}" is not http(s)://host[:port] or host[:port] (no path)`);
    }
    endpoint = `${url.protocol}//${url.host}`;
    if (!accessKey)
      throw new ConfigError("S3_ACCESS_KEY", "(or S3_ACCESS_KEY_FILE) must be set when S3_ENDPOINT is set");
    if (!secretKey)
      throw new ConfigError("S3_SECRET_KEY", "(or S3_SECRET_KEY_FILE) must be set when S3_ENDPOINT is set");
  }
  return { endpoint, accessKey, secretKey, bucket, region, useSsl };
}

/** An optional "http(s)://host[:port]" (no path), normalised to its origin. */
function httpOrigin(env: Env, name: string): string | undefined {
  const v = raw(env, name);
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(name, `"${v}" is not an http(s)://host[:port] URL`);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || (url.pathname !== "/" && url.pathname !== ""))
    throw new ConfigError(name, `"${v}" is not an http(s)://host[:port] URL (no path)`);
  return `${url.protocol}//${url.host}`;
}

function loadTls(env: Env, cwd: string): TlsConfig {
  const file = (name: string): string | undefined => {
    const v = raw(env, name);
    if (v === undefined) return undefined;
    const p = resolve(cwd, v);
    if (!existsSync(p)) throw new ConfigError(name, `file "${p}" does not exist (expected a PEM file)`);
    return p;
  };
  const certFile = file("TLS_CERT");
  const keyFile = file("TLS_KEY");
  const caFile = file("TLS_CA");
  const clientAuth = bool(env, "TLS_CLIENT_AUTH", false);
  if (certFile && !keyFile) throw new ConfigError("TLS_KEY", "must be set when TLS_CERT is set");
  if (keyFile && !certFile) throw new ConfigError("TLS_CERT", "must be set when TLS_KEY is set");
  if (clientAuth && !(certFile && caFile)) {
    throw new ConfigError(
      "TLS_CLIENT_AUTH",
      "true needs TLS_CERT, TLS_KEY and TLS_CA (the CA that signs client certificates)",
    );
  }
  return { certFile, keyFile, caFile, clientAuth, enabled: Boolean(certFile && keyFile) };
}

/** For mains: load the config or print the one-line reason and exit 2. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`synthmri: bad configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
