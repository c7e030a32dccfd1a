// The reliability suite's rig: the embedded object store and the four services started from their production
// entrypoints as processes on loopback (as `npm start` runs them), plus raw gRPC helpers that send whatever
// bytes a careless or hostile client would.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type EmbeddedS3, SERVICE_NAMES, type ServiceName, startEmbeddedS3 } from "@synthmri/platform";
import { freePort, type ServiceProcess, startEntrypoint } from "../ops/helpers.js";

export const PARTNER_TOKEN = "reliability-partner-token-0123456789";

export interface Rig {
  dir: string;
  s3: EmbeddedS3;
  env: Record<string, string>;
  address: Record<ServiceName, string>;
  partnerAddress: string;
  processes: Map<ServiceName, ServiceProcess>;
  /** Starts (or restarts) one service and waits for its ready line. */
  start(service: ServiceName, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  /** Takes the object store down (open connections dropped), as a crashed or restarting MinIO would be. */
  stopStore(): Promise<void>;
  /** Brings the object store back on the same port, data and credentials. */
  restartStore(): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(options: { services?: ServiceName[]; env?: Record<string, string> } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), "reliability-"));
  let s3 = await startEmbeddedS3({ dataDir: join(dir, "store") });
  let storeUp = true;
  const tokens = join(dir, "partner_tokens.json");
  const tokenSha256 = createHash("sha256").update(PARTNER_TOKEN).digest("hex");
  writeFileSync(
    tokens,
    JSON.stringify({
      partners: [{ name: "rel", tokenSha256, scopes: ["datasets:request", "datasets:read"], imagesPerDay: 10 }],
    }),
  );
  const address = {} as Record<ServiceName, string>;
  const env: Record<string, string> = {
    HOST: "127.0.0.1",
    SYNTHMRI_DATA_DIR: join(dir, "data"),
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: "synthmri",
    S3_REGION: s3.region,
    DEID_SALT: "reliability-salt-0123456789abcdef",
    LOG_LEVEL: "info", // the "ready" line is info
    GRPC_SHUTDOWN_GRACE_MS: "2000",
    TRAIN_PROCESSES: "0",
    PARTNER_TOKENS_FILE: tokens,
    PARTNER_PORT: String(await freePort()),
    ...options.env,
  };
  for (const s of SERVICE_NAMES) {
    const port = await freePort();
    address[s] = `127.0.0.1:${port}`;
    env[`${s.toUpperCase()}_PORT`] = String(port);
    env[`${s.toUpperCase()}_ADDR`] = address[s];
  }
  const processes = new Map<ServiceName, ServiceProcess>();
  const start = async (service: ServiceName, extraEnv: Record<string, string> = {}) => {
    const p = startEntrypoint(service, { ...env, ...extraEnv, SERVICE: service });
    processes.set(service, p);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${service} not ready in 300 s:\n${p.stderr().slice(-2000)}`)),
        300_000,
      );
    });
    try {
      await Promise.race([p.ready, late]);
    } finally {
      clearTimeout(timer);
    }
    return p;
  };
  const close = async () => {
    await Promise.all(
      [...processes.values()].map(async (p) => {
        if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
        await p.exited;
      }),
    );
    if (storeUp) await s3.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const stopStore = async () => {
    if (!storeUp) return;
    storeUp = false;
    await s3.close();
  };
  const restartStore = async () => {
    if (storeUp) return;
    s3 = await startEmbeddedS3({ dataDir: join(dir, "store"), port: Number(new URL(s3.endpoint).port) });
    storeUp = true;
  };
  try {
    await Promise.all((options.services ?? SERVICE_NAMES).map((s) => start(s)));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    dir,
    get s3() {
      return s3;
    },
    env,
    address,
    partnerAddress: `127.0.0.1:${env.PARTNER_PORT}`,
    processes,
    start,
    stopStore,
    restartStore,
    close,
  };
}

export interface RawStatus {
  code: grpc.status;
  details: string;
  ms: number;
}

/**
 * Calls `path` with already-encoded request messages (one for unary / server-streaming calls) and returns
 * the final status, whatever the method kind; responses are read and dropped.
 */
export function rawCall(
  address: string,
  path: string,
  kind: "unary" | "server_streaming" | "client_streaming" | "bidi_streaming",
  messages: Uint8Array[],
  options: { deadlineMs?: number; metadata?: Record<string, string>; endStream?: boolean } = {},
): Promise<RawStatus> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 64 * 1024 * 1024,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
  const callOptions = { deadline: Date.now() + (options.deadlineMs ?? 20_000) };
  const id = (b: Buffer) => b;
  const ser = (b: Uint8Array) => Buffer.from(b);
  const started = performance.now();
  return new Promise<RawStatus>((resolve) => {
    const done = (code: grpc.status, details: string) => {
      client.close();
      resolve({ code, details, ms: performance.now() - started });
    };
    const first = messages[0] ?? new Uint8Array();
    if (kind === "unary") {
      client.makeUnaryRequest(path, ser, id, first, metadata, callOptions, (err) =>
        err ? done(err.code, err.details) : done(grpc.status.OK, ""),
      );
      return;
    }
    if (kind === "client_streaming") {
      const call = client.makeClientStreamRequest(path, ser, id, metadata, callOptions, (err) =>
        err ? done(err.code, err.details) : done(grpc.status.OK, ""),
      );
      for (const m of messages) call.write(m);
      if (options.endStream !== false) call.end();
      return;
    }
    const call =
      kind === "server_streaming"
        ? client.makeServerStreamRequest(path, ser, id, first, metadata, callOptions)
        : client.makeBidiStreamRequest(path, ser, id, metadata, callOptions);
    if (kind === "bidi_streaming") {
      const duplex = call as grpc.ClientDuplexStream<Uint8Array, Buffer>;
      for (const m of messages) duplex.write(m);
      if (options.endStream !== false) duplex.end();
    }
    call.on("data", () => undefined);
    call.on("error", () => undefined);
    call.on("status", (s: grpc.StatusObject) => done(s.code, s.details));
  });
}

/** grpc.health.v1 Check of the whole server ("" service): SERVING (1) when the process answers. */
export async function healthStatus(address: string, deadlineMs = 5000): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => {
          if (err) reject(err);
          // HealthCheckResponse { status (field 1, varint) }
          else resolve(res && res.length >= 2 && res[0] === 0x08 ? res[1]! : 0);
        },
      );
    });
  } finally {
    client.close();
  }
}
