// One Prometheus registry per service process, labelled with the service name so that a single Prometheus
// scraping every pod can tell the series apart.
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";

export type MetricsRegistry = Registry;

export interface MetricsRegistryOptions {
  /** Node process metrics (CPU, memory, event-loop lag, GC); default true. Tests turn them off. */
  processMetrics?: boolean;
}

/** A fresh registry whose every series carries `service="<service>"`. */
export function createMetricsRegistry(service: string, options: MetricsRegistryOptions = {}): MetricsRegistry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

let processRegistry: Registry | undefined;

/**
 * The registry of this process: the rpc server builder records RPC metrics in it and openObjectStore counts
 * store errors in it, so a service's main.ts only has to serve it (startMetrics). Named by startMetrics.
 */
export function processMetricsRegistry(): MetricsRegistry {
  processRegistry ??= new Registry();
  return processRegistry;
}

/** Metric objects are registered once per registry; later callers reuse the existing one. */
export function gaugeOnce<L extends string>(
  registry: MetricsRegistry,
  name: string,
  help: string,
  labelNames: readonly L[],
): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

/**
 * Records the compute backend in use as `synthmri_compute_backend{backend="wasm"} 1` (the previous backend,
 * if any, drops to 0) so dashboards can show which pods run on GPU, native CPU, wasm or plain JS.
 */
export function setComputeBackend(registry: MetricsRegistry, backend: string): void {
  const g = gaugeOnce(registry, "synthmri_compute_backend", "Compute backend in use (1 = active)", ["backend"]);
  g.reset();
  g.set({ backend }, 1);
}
