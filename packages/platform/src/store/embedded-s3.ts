// The embedded object store for one machine: s3rver in-process, behind a small HTTP front that
//  - verifies AWS Signature V4 on every request (header and presigned query signatures, payload hashes and
//    aws-chunked chunk signatures) with a per-data-dir random secret, since s3rver itself accepts anonymous
//    requests and does not check V4 signatures at all;
//  - listens on loopback only;
//  - answers the one request s3rver gets wrong: the minio client lists in-progress multipart uploads
//    (GET /<bucket>?uploads) before a multipart put; we reply with an empty ListMultipartUploadsResult
//    ("nothing to resume") and pass everything else through.
import { createHash, randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { isIP, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import S3rver from "s3rver";
import {
  decodeSignedChunks,
  PRESIGN_QUERY_PARAMS,
  type SigV4Credentials,
  type VerifiedPayload,
  verifySigV4,
} from "./sigv4-verify.js";

export interface EmbeddedS3Options {
  /** Objects live under <dataDir>/s3. */
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** A loopback address (default 127.0.0.1); anything else is refused. */
  host?: string;
  /** Fixed credentials (tests); default: a random pair kept in <dataDir>/s3-credentials.json (mode 0600). */
  credentials?: { accessKey: string; secretKey: string };
  /** Largest body with a signed payload hash that is buffered for verification (default 256 MiB). */
  maxSignedBodyBytes?: number;
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  close(): Promise<void>;
}

export const EMBEDDED_S3_REGION = "us-east-1";
const CREDENTIALS_FILE = "s3-credentials.json";

const EMPTY_UPLOADS_XML = (bucket: string) =>
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
  `<Bucket>${escapeXml(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
  "<MaxUploads>1000</MaxUploads></ListMultipartUploadsResult>";
// IsTruncated is left out on purpose: minio's parser keeps it as the string "false", which is truthy.

export function isListUploadsRequest(method: string | undefined, url: string | undefined): boolean {
  if (method !== "GET" || !url) return false;
  const q = new URL(url, "http://x").searchParams;
  return q.has("uploads") && !q.has("uploadId");
}

export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host)) {
    throw new Error(
      `embedded object store: host ${host} is not a loopback address; use MinIO (S3_ENDPOINT) to serve other hosts`,
    );
  }
  const directory = join(options.dataDir, "s3");
  mkdirSync(directory, { recursive: true });
  const keys = options.credentials ?? loadOrCreateCredentials(options.dataDir);
  const credentials: SigV4Credentials = { ...keys, region: EMBEDDED_S3_REGION };
  const maxSignedBodyBytes = options.maxSignedBodyBytes ?? 256 * 1024 * 1024;
  const s3rver = new S3rver({ directory, silent: true, vhostBuckets: false, address: host, port: 0 });
  const handle = s3rver.callback();
  let deletes: Promise<void> = Promise.resolve();
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    if (isListUploadsRequest(req.method, req.url)) {
      const bucket = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.split("/")[1] ?? "");
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(EMPTY_UPLOADS_XML(bucket));
      return;
    }
    if (req.method === "DELETE" || (req.method === "POST" && isMultiDelete(req.url))) {
      // s3rver removes emptied directories after a delete; two deletes at once race on that and one
      // fails with a 500. Run deletes one at a time.
      deletes = deletes.then(
        () =>
          new Promise<void>((done) => {
            res.once("close", done);
            handle(req, res);
          }),
      );
      return;
    }
    handle(req, res);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    authenticated(req, res, credentials, maxSignedBodyBytes).then(
      (verified) => {
        if (verified) pass(verified, res);
      },
      (err: unknown) => sendError(res, req, 500, "InternalError", String((err as Error)?.message ?? err)),
    );
  });
  // Large parts arrive slowly on a busy machine; node's default 5 min request timeout is fine, but keep-alive
  // sockets must not hold close() hostage.
  // Clients keep sockets alive between requests; with node's 5 s server keep-alive a request sent on a socket
  // the server is closing fails with ECONNRESET (seen between GAN checkpoints). Outlive the client's idle time.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = host.includes(":") ? `[${host}]` : host;
  return {
    endpoint: `http://${hostForUrl}:${port}`,
    accessKey: credentials.accessKey,
    secretKey: credentials.secretKey,
    region: credentials.region,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          (s3rver as unknown as { logger?: { close(): void } }).logger?.close();
          if (err) reject(err);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function isMultiDelete(url: string | undefined): boolean {
  return new URL(url ?? "/", "http://x").searchParams.has("delete");
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Verifies the request's signature and, for signed payloads, its body; returns the request to hand to
 * s3rver (auth stripped so s3rver treats it as already authorised), or undefined after answering an error.
 */
async function authenticated(
  req: IncomingMessage,
  res: ServerResponse,
  credentials: SigV4Credentials,
  maxSignedBodyBytes: number,
): Promise<IncomingMessage | undefined> {
  const verdict = await verifySigV4(
    { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers },
    credentials,
  );
  if (!verdict.ok) {
    sendError(res, req, verdict.status, verdict.code, verdict.message);
    return undefined;
  }
  const url = withoutAuthQuery(req.url ?? "/");
  const headers = { ...req.headers };
  delete headers.authorization;
  if (verdict.payload.kind === "unsigned") {
    req.url = url;
    req.headers = headers;
    return req;
  }
  const body = await readBody(req, maxSignedBodyBytes);
  if (body === undefined) {
    sendError(
      res,
      req,
      413,
      "EntityTooLarge",
      `a signed payload above ${maxSignedBodyBytes} bytes; use multipart upload`,
    );
    return undefined;
  }
  const checked = await checkPayload(body, verdict.payload, credentials);
  if ("error" in checked) {
    sendError(res, req, 400, checked.code, checked.error);
    return undefined;
  }
  if (verdict.payload.kind === "streaming") {
    delete headers["x-amz-decoded-content-length"];
    const encodings = String(headers["content-encoding"] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e && e !== "aws-chunked");
    if (encodings.length > 0) headers["content-encoding"] = encodings.join(",");
    else delete headers["content-encoding"];
  }
  headers["content-length"] = String(checked.data.length);
  delete headers["transfer-encoding"];
  return replay(req, url, headers, checked.data);
}

async function checkPayload(
  body: Buffer,
  payload: Exclude<VerifiedPayload, { kind: "unsigned" }>,
  credentials: SigV4Credentials,
): Promise<{ data: Buffer } | { error: string; code: string }> {
  if (payload.kind === "sha256") {
    const actual = createHash("sha256").update(body).digest("hex");
    if (actual !== payload.sha256) {
      return {
        code: "XAmzContentSHA256Mismatch",
        error: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      };
    }
    return { data: body };
  }
  const decoded = await decodeSignedChunks(body, payload, credentials);
  return "error" in decoded ? { code: "SignatureDoesNotMatch", error: decoded.error } : decoded;
}

/** The whole body, or undefined when it is larger than `limit` (the rest is discarded). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** A stand-in IncomingMessage carrying the verified (and decoded) body, for s3rver's Koa app. */
function replay(
  original: IncomingMessage,
  url: string,
  headers: IncomingMessage["headers"],
  body: Buffer,
): IncomingMessage {
  const stream = Readable.from(body.length > 0 ? [body] : [], { objectMode: false });
  return Object.assign(stream, {
    url,
    headers,
    method: original.method,
    httpVersion: original.httpVersion,
    httpVersionMajor: original.httpVersionMajor,
    httpVersionMinor: original.httpVersionMinor,
    socket: original.socket,
    connection: original.socket,
    rawHeaders: [] as string[],
    complete: true,
  }) as unknown as IncomingMessage;
}

function withoutAuthQuery(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const kept = url
    .slice(q + 1)
    .split("&")
    .filter((pair) => {
      const name = decodeURIComponentSafe(pair.split("=")[0] ?? "");
      return !PRESIGN_QUERY_PARAMS.includes(name);
    });
  return kept.length > 0 ? `${url.slice(0, q)}?${kept.join("&")}` : url.slice(0, q);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function sendError(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const resource = escapeXml((req.url ?? "/").split("?")[0] ?? "/");
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>` +
    `<Resource>${resource}</Resource><RequestId>${randomBytes(8).toString("hex")}</RequestId></Error>`;
  // An unread request body would otherwise hold the keep-alive socket.
  res.writeHead(status, { "content-type": "application/xml", connection: "close" });
  res.end(req.method === "HEAD" ? undefined : xml);
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare) === 4) return bare.startsWith("127.");
  return bare === "::1";
}

/**
 * The embedded store's key pair: random, created once per data dir and kept next to the objects (0600), so
 * every process on the same data dir (and presigned URLs across restarts) agree.
 */
function loadOrCreateCredentials(dataDir: string): { accessKey: string; secretKey: string } {
  const path = join(dataDir, CREDENTIALS_FILE);
  const fresh = {
    accessKey: `EMB${randomBytes(8).toString("hex").toUpperCase()}`,
    secretKey: randomBytes(30).toString("base64url"),
  };
  // Written aside and linked into place: two processes starting at once never read a half-written file.
  const aside = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(aside, `${JSON.stringify(fresh)}\n`, { mode: 0o600 });
  try {
    linkSync(aside, path);
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(aside);
  }
  const stored = JSON.parse(readFileSync(path, "utf8")) as { accessKey?: unknown; secretKey?: unknown };
  if (typeof stored.accessKey !== "string" || typeof stored.secretKey !== "string" || !stored.secretKey) {
    throw new Error(`embedded object store: ${path} is not a credentials file; remove it to make a new key pair`);
  }
  return { accessKey: stored.accessKey, secretKey: stored.secretKey };
}
