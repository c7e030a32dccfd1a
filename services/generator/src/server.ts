// The generator's gRPC server, built from its dependencies (no globals): tests build it on port 0 with the
// embedded store; main.ts with the configured one. More services (e.g. PartnerService) join through
// `StartOptions.extend`: their interceptors, their service registration and their job resume handlers.
import { GeneratorService, JobService } from "@synthmri/contracts";
import type { AnyJobWork } from "@synthmri/platform";
import { createServer, type RpcServer, type ServerInterceptor, type ServerOptions } from "@synthmri/rpc";
import type { GeneratorDeps } from "./deps.js";
import { generatorHandlers } from "./handlers/generator.js";
import { type GeneratorContext, generatorContext } from "./handlers/job-work.js";
import { jobHandlers } from "@synthmri/rpc";

export type { GeneratorDeps } from "./deps.js";

export function build(deps: GeneratorDeps) {
  const context = generatorContext(deps);
  return {
    context,
    generator: generatorHandlers(context),
    jobs: jobHandlers(deps.jobs),
    /** Pass to deps.jobs.recover() at start-up. */
    resumeHandlers: context.resumeHandlers,
  };
}

export interface StartedServer {
  server: RpcServer;
  port: number;
  /** "host:port" for clients. */
  address: string;
  context: GeneratorContext;
  /** Generator + extension resume handlers: pass to deps.jobs.recover() once the server listens. */
  resumeHandlers: Record<string, AnyJobWork>;
  close(graceMs?: number): Promise<void>;
}

/** What another service on the generator's server brings (e.g. PartnerService, see handlers/partner.ts). */
export interface ServerExtension {
  /** Appended after StartOptions.server.interceptors. */
  interceptors?: ServerInterceptor[];
  /** Adds its services to the server before it listens. */
  services?: (server: RpcServer) => void;
  resumeHandlers?: Record<string, AnyJobWork>;
}

export interface StartOptions {
  port?: number;
  host?: string;
  server?: Omit<ServerOptions, "logger">;
  /** Built with the generator's context (sampling, registry, dataset reader) before the server is created. */
  extend?: (context: GeneratorContext) => ServerExtension;
}

export async function startServer(deps: GeneratorDeps, options: StartOptions = {}): Promise<StartedServer> {
  const impl = build(deps);
  const ext = options.extend?.(impl.context) ?? {};
  const server = createServer({
    ...options.server,
    interceptors: [...(options.server?.interceptors ?? []), ...(ext.interceptors ?? [])],
    logger: deps.logger,
  });
  server.add(GeneratorService, impl.generator).add(JobService, impl.jobs);
  ext.services?.(server);
  const host = options.host ?? "127.0.0.1";
  const port = await server.listen(host, options.port ?? 0);
  return {
    server,
    port,
    address: `${host}:${port}`,
    context: impl.context,
    resumeHandlers: { ...impl.resumeHandlers, ...ext.resumeHandlers },
    async close(graceMs = 5000) {
      await server.shutdown(graceMs);
      await deps.jobs.shutdown({ graceMs });
    },
  };
}
