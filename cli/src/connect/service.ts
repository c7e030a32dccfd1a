// Where a CLI command finds a service and how it connects: --addr (or INGEST_ADDR etc., or 127.0.0.1 and the
// configured port, as the services themselves resolve it) and the TLS flags/env of tls.ts.
import { loadConfig, type ServiceName } from "@synthmri/platform";
import type { ClientOptions } from "@synthmri/rpc";
import { clientTlsOptions, type TlsArgs } from "./tls.js";

/** The address of a service: the flag, else <SERVICE>_ADDR, else 127.0.0.1:<SERVICE>_PORT (defaults 50051-50054). */
export function serviceAddress(
  service: ServiceName,
  addr: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (addr) return addr;
  const s = loadConfig(env).services[service];
  return s.addr ?? `127.0.0.1:${s.port}`;
}

/** Client options for a call from the CLI: TLS from flags or env, and a deadline for unary calls. */
export function cliClientOptions(
  args: TlsArgs,
  env: NodeJS.ProcessEnv = process.env,
  deadlineMs = 60_000,
): ClientOptions {
  return { ...clientTlsOptions(args, env), defaultDeadlineMs: deadlineMs };
}
