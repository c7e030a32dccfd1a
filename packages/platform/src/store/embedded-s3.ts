// The embedded object store for one machine: s3rver in-process, behind a tiny HTTP front that answers
// the one request s3rver gets wrong. The minio client lists in-progress multipart uploads
// (GET /<bucket>?uploads) before a multipart put; s3rver does not answer it properly, so we reply with an
// empty ListMultipartUploadsResult ("nothing to resume") and pass everything else through.
import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import S3rver from "s3rver";

export interface EmbeddedS3Options {
  /** Objects live under <dataDir>/s3. */
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  close(): Promise<void>;
}

/** s3rver's fixed credentials. */
export const EMBEDDED_S3_ACCESS_KEY = "S3RVER";
export const EMBEDDED_S3_SECRET_KEY = "S3RVER";

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
  const directory = join(options.dataDir, "s3");
  mkdirSync(directory, { recursive: true });
  const host = options.host ?? "127.0.0.1";
  const s3rver = new S3rver({ directory, silent: true, vhostBuckets: false, address: host, port: 0 });
  const handle = s3rver.callback();
  let deletes: Promise<void> = Promise.resolve();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
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
    accessKey: EMBEDDED_S3_ACCESS_KEY,
    secretKey: EMBEDDED_S3_SECRET_KEY,
    region: "us-east-1",
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
