// synthmri.common.v1.ServiceInfoService, answered by every server createServer builds: the process's version,
// the compute backend @synthmri/ml published (core's computeBackend(): this package never loads tfjs) and
// TRAIN_PROCESSES. Nothing here reads storage or identifiers, so it is cheap and safe for probes and the console.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { ServiceInfo } from "@synthmri/contracts";
import { computeBackend, gpuOf, loadConfig } from "@synthmri/platform";

let cachedVersion: string | undefined;

/** The suite's version: the root package.json's (one version for the CLI and the services' images). */
export function suiteVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const url = new URL("../../../package.json", import.meta.url);
      cachedVersion = (JSON.parse(readFileSync(url, "utf8")) as { version?: string }).version ?? "";
    } catch {
      cachedVersion = ""; // a bundled deployment without the root package.json
    }
  }
  return cachedVersion;
}

function trainProcesses(): number {
  try {
    return loadConfig(process.env).trainProcesses;
  } catch {
    return 0; // an invalid environment is reported by the service's own start-up, not here
  }
}

/** The ServiceInfo message fields of this process for a server serving `services`. */
export function serviceInfo(services: readonly string[]): Omit<ServiceInfo, "$typeName" | "$unknown"> {
  const backend = computeBackend();
  const { gpu, adapter } = gpuOf(backend);
  return {
    version: suiteVersion(),
    services: [...services],
    backend: backend?.name ?? "",
    backendProvider: backend?.provider ?? "",
    native: backend?.native ?? false,
    nativeKernels: backend?.nativeKernels ?? false,
    threads: backend?.threads ?? 0,
    gpu,
    gpuAdapter: adapter,
    trainProcesses: trainProcesses(),
    nodeVersion: process.versions.node,
    cpus: availableParallelism(),
    uptimeSeconds: process.uptime(),
  };
}
