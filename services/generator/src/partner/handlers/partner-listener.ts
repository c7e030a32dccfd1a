// The partner listener: a gRPC server of its own (PARTNER_PORT) that carries ONLY PartnerService, the partner's
// JobService view and grpc.health, every call token-authenticated. The generator's internal port
// (GeneratorService + the full JobService, no partner auth) is a different server, so a partner who reaches this
// port cannot train GANs or list, watch or cancel anyone else's jobs: those RPCs are not served here at all.
// Reflection is off: it would describe the services to anyone before authentication.
import type { Logger } from "@synthmri/platform";
import { JobService, PartnerService } from "@synthmri/contracts";
import { createServer, hostPort, type RpcServer, type ServerOptions } from "@synthmri/rpc";
import type { PartnerEndpoint } from "./partner.js";

export interface PartnerListenerOptions {
  partner: PartnerEndpoint;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** TLS, message size, keepalive: the same as the internal server's. Interceptors come from `partner`. */
  server?: Omit<ServerOptions, "logger" | "interceptors" | "reflection">;
  logger?: Logger;
}

export interface PartnerListener {
  server: RpcServer;
  port: number;
  /** "host:port" for clients. */
  address: string;
  close(graceMs?: number): Promise<void>;
}

export async function startPartnerListener(options: PartnerListenerOptions): Promise<PartnerListener> {
  const { partner } = options;
  const server = createServer({
    ...options.server,
    interceptors: partner.interceptors,
    reflection: false,
    trustTraceContext: false,
    logger: options.logger?.child({ listener: "partner" }),
  });
  server.add(PartnerService, partner.handlers).add(JobService, partner.jobs);
  const host = options.host ?? "127.0.0.1";
  const port = await server.listen(host, options.port ?? 0);
  return {
    server,
    port,
    address: hostPort(host, port),
    close: (graceMs = 5000) => server.shutdown(graceMs),
  };
}
