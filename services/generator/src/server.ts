// The generator's gRPC servers, built from its dependencies (no globals): tests build them on port 0 with the
// embedded store; main.ts with the configured one. Two listeners:
//  - internal (GENERATOR_PORT): GeneratorService + the full JobService + PartnerAdminService (the hospital's view
//    of partner bundles and the audit log), for the other services and operators;
//    no partner auth, so it must stay inside the cluster/namespace;
//  - partner (PARTNER_PORT, only with an enabled partner config): PartnerService + the partner's own jobs,
//    every call token-authenticated (src/partner/handlers/partner-listener.ts). PartnerService is never on the internal one.
import { GeneratorService, JobService, PartnerAdminService } from "@synthmri/contracts";
import type { AnyJobWork, ObjectStore } from "@synthmri/platform";
import { createServer, hostPort, jobHandlers, type RpcServer, type ServerOptions } from "@synthmri/rpc";
import type { PartnerConfig } from "./partner/adapters/partner-config.js";
import { GeneratorPartnerSampler } from "./partner/adapters/partner-sampler.js";
import type { GeneratorDeps } from "./deps.js";
import type { PartnerSampler } from "./partner/domain/ports.js";
import { generatorHandlers } from "./handlers/generator.js";
import { type GeneratorContext, generatorContext } from "./context.js";
import { buildPartner, type PartnerEndpoint } from "./partner/handlers/partner.js";
import { partnerAdminHandlers } from "./partner/handlers/partner-admin.js";
import { type PartnerListener, startPartnerListener } from "./partner/handlers/partner-listener.js";

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

export interface PartnerOptions {
  /** From loadPartnerConfig(PARTNER_TOKENS_FILE). Disabled (no file): no partner listener is opened. */
  config: PartnerConfig;
  /** PARTNER_PORT; 0 (default) picks a free port. */
  port?: number;
  /** Default: StartOptions.host. */
  host?: string;
  /** Default: the generator's own sampling (GeneratorPartnerSampler); tests pass fakes. */
  sampler?: (context: GeneratorContext) => PartnerSampler;
  /** The bucket through the address partners reach, for presigned download URLs (default: deps.store). */
  presignStore?: ObjectStore;
  now?: () => Date;
}

export interface StartedServer {
  /** The internal server (GeneratorService + JobService). */
  server: RpcServer;
  port: number;
  /** "host:port" of the internal server. */
  address: string;
  context: GeneratorContext;
  /** The partner listener, when StartOptions.partner was given with an enabled config. */
  partner?: PartnerListener & { endpoint: PartnerEndpoint };
  /** Generator + partner resume handlers: pass to deps.jobs.recover() once the servers listen. */
  resumeHandlers: Record<string, AnyJobWork>;
  /** Drains both listeners together (in-flight calls get up to graceMs), leaving the job runner running. */
  shutdown(graceMs?: number): Promise<void>;
  /** shutdown(), then the job runner. */
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  port?: number;
  host?: string;
  /** TLS, message size, keepalive, extra interceptors of the internal server; TLS etc. also apply to the partner one. */
  server?: Omit<ServerOptions, "logger">;
  /** The partner flow. Its resume handlers are registered even when disabled, so its jobs finish after a restart. */
  partner?: PartnerOptions;
}

export async function startServer(deps: GeneratorDeps, options: StartOptions = {}): Promise<StartedServer> {
  const impl = build(deps);
  const host = options.host ?? "127.0.0.1";
  const endpoint = options.partner
    ? buildPartner({
        artifacts: deps.artifacts,
        store: deps.store,
        jobs: deps.jobs,
        sampler: options.partner.sampler?.(impl.context) ?? new GeneratorPartnerSampler(impl.context),
        config: options.partner.config,
        presignStore: options.partner.presignStore,
        logger: deps.logger,
        provenance: deps.provenance,
        now: options.partner.now,
      })
    : undefined;
  const server = createServer({ ...options.server, logger: deps.logger });
  server.add(GeneratorService, impl.generator).add(JobService, impl.jobs);
  server.add(PartnerAdminService, partnerAdminHandlers({ ...deps, now: options.partner?.now }));
  const port = await server.listen(host, options.port ?? 0);
  let partner: StartedServer["partner"];
  if (endpoint && options.partner?.config.enabled) {
    const { interceptors: _internalOnly, ...shared } = options.server ?? {};
    try {
      const listener = await startPartnerListener({
        partner: endpoint,
        host: options.partner.host ?? host,
        port: options.partner.port ?? 0,
        server: shared,
        logger: deps.logger,
      });
      partner = { ...listener, endpoint };
    } catch (e) {
      await server.shutdown(0);
      throw e;
    }
  }
  const shutdown = async (graceMs = 5000) => {
    await Promise.all([server.shutdown(graceMs), partner?.close(graceMs)]);
  };
  return {
    server,
    port,
    address: hostPort(host, port),
    context: impl.context,
    partner,
    resumeHandlers: { ...impl.resumeHandlers, ...endpoint?.resumeHandlers },
    shutdown,
    async close(graceMs = 5000) {
      await shutdown(graceMs);
      await deps.jobs.shutdown({ graceMs });
    },
  };
}
