// The console's HTTP server: static page + bundle, and Connect routes under /rpc/<service>/ that forward to
// the four gRPC services (and /rpc/console/ for ConsoleService). Every request needs the console token:
// from the URL once (then an HttpOnly cookie), or as "Authorization: Bearer".
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  ConsoleService,
  EvaluatorService,
  GeneratorService,
  IngestService,
  JobService,
  PartnerAdminService,
  SegmenterService,
} from "@synthmri/contracts";
import { inSpan, type ObjectStore } from "@synthmri/platform";
import { bundleWeb, WEB_DIR } from "./bundle.js";
import { type Addresses, MAX_SCAN_BYTES, type ServiceName, consoleService } from "./console-service.js";
import { type Forwarder, forwardServices } from "./forward.js";
import { reportFiles } from "./report-files.js";

const SERVICES: Record<ServiceName, DescService[]> = {
  ingest: [IngestService, JobService],
  // PartnerAdminService is served on the generator's internal port (the hospital's view of partner bundles).
  generator: [GeneratorService, JobService, PartnerAdminService],
  segmenter: [SegmenterService, JobService],
  evaluator: [EvaluatorService, JobService],
};

const COOKIE = "synthmri_console";

export interface ConsoleOptions {
  addresses: Addresses;
  /** Where the evaluator's report files live (figures); without it the report page shows no figures. */
  store?: ObjectStore;
  /** Default 127.0.0.1 (loopback): the console shows nothing to other hosts unless asked to. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default CONSOLE_TOKEN, else random per start. */
  token?: string;
}

export interface RunningConsole {
  /** Base URL without the token. */
  readonly url: string;
  /** The URL to open: carries the token once. */
  readonly openUrl: string;
  readonly token: string;
  close(): Promise<void>;
}

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const token = options.token ?? process.env.CONSOLE_TOKEN ?? randomBytes(18).toString("base64url");
  const { js, css } = await bundleWeb();
  const html = readFileSync(join(WEB_DIR, "index.html"));
  const forwarders: Forwarder[] = [];
  const adapters: Array<{ prefix: string; handle: (req: IncomingMessage, res: ServerResponse) => void }> = [];
  for (const [name, services] of Object.entries(SERVICES) as Array<[ServiceName, DescService[]]>) {
    const f = forwardServices(services, options.addresses[name]);
    forwarders.push(f);
    const prefix = `/rpc/${name}`;
    adapters.push({ prefix, handle: connectNodeAdapter({ routes: (r) => f.register(r), requestPathPrefix: prefix }) });
  }
  const files = options.store ? reportFiles(options.addresses.evaluator, options.store) : undefined;
  const consoleImpl = consoleService({ addresses: options.addresses, reportFiles: files });
  adapters.push({
    prefix: "/rpc/console",
    handle: connectNodeAdapter({
      routes: (r) => r.service(ConsoleService, consoleImpl.impl),
      requestPathPrefix: "/rpc/console",
      readMaxBytes: MAX_SCAN_BYTES,
    }),
  });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://console");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    const fromQuery = url.searchParams.get("token");
    if (fromQuery !== null) {
      if (!sameToken(fromQuery, token)) return deny(res);
      // Trade the URL token for a cookie and drop it from the address bar (and from any Referer).
      res.setHeader("Set-Cookie", `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete("token");
      res.writeHead(303, { Location: `${url.pathname}${url.search}${url.hash}` });
      return res.end();
    }
    if (!sameToken(presentedToken(req) ?? "", token)) return deny(res);
    if (url.pathname === "/" || url.pathname === "/index.html") return send(res, "text/html; charset=utf-8", html);
    if (url.pathname === "/app.js") return send(res, "text/javascript; charset=utf-8", js);
    if (url.pathname === "/app.css") return send(res, "text/css; charset=utf-8", css);
    const adapter = adapters.find((a) => url.pathname.startsWith(`${a.prefix}/`));
    // A span per forwarded call (tracing on): its gRPC calls to the services are its children.
    if (adapter) return void inSpan(`console ${adapter.prefix}`, () => handled(res, () => adapter.handle(req, res)));
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  const base = `http://${host}:${port}/`;
  return {
    url: base,
    openUrl: `${base}?token=${encodeURIComponent(token)}`,
    token,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      for (const f of forwarders) f.close();
      consoleImpl.close();
      files?.close();
    },
  };
}

function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice(7);
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === COOKIE && v) return v;
  }
  return undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function deny(res: ServerResponse): void {
  res.writeHead(401, { "Content-Type": "text/plain; charset=utf-8" });
  res.end("synthmri console: open the URL printed by `synthmri console` (it carries the access token).\n");
}

function send(res: ServerResponse, type: string, body: Uint8Array): void {
  res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

/** Runs handle and resolves when the response is done (so a span around it lasts as long as the request). */
function handled(res: ServerResponse, handle: () => void): Promise<void> {
  return new Promise((resolve) => {
    res.once("close", resolve);
    handle();
  });
}
