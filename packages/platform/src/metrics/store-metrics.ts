// Counts object-store failures by operation and error kind, without changing what callers see.
import { Counter } from "prom-client";
import type { ObjectStore } from "../store/object-store.js";
import type { MetricsRegistry } from "./registry.js";

type Op = Exclude<keyof ObjectStore, "bucket">;
const PROMISE_OPS: Op[] = [
  "ensureBucket",
  "putObject",
  "getObject",
  "getBuffer",
  "statObject",
  "exists",
  "deleteObject",
  "deletePrefix",
  "presignedGetUrl",
];
const ITERABLE_OPS: Op[] = ["listObjects", "listPrefixes"];

/**
 * Wraps a store so that every failed call increments `synthmri_object_store_errors_total{operation,kind}`
 * (kind = the typed error kind: NotFound, Unavailable, PermissionDenied, ... or Error). NotFound from
 * statObject/getObject is often an expected probe; it is counted too, under its own kind, so alerts can exclude it.
 */
export function instrumentObjectStore<T extends ObjectStore>(store: T, registry: MetricsRegistry): T {
  const errors =
    (registry.getSingleMetric("synthmri_object_store_errors_total") as Counter<"operation" | "kind"> | undefined) ??
    new Counter({
      name: "synthmri_object_store_errors_total",
      help: "Failed object-store operations",
      labelNames: ["operation", "kind"],
      registers: [registry],
    });
  const count = (operation: string, e: unknown) => errors.inc({ operation, kind: errorKind(e) });
  const wrapped: Record<string, unknown> = {};
  for (const op of PROMISE_OPS) {
    const fn = (store[op] as unknown as (...a: unknown[]) => Promise<unknown>).bind(store);
    wrapped[op] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (e) {
        count(op, e);
        throw e;
      }
    };
  }
  for (const op of ITERABLE_OPS) {
    const fn = (store[op] as unknown as (p: string) => AsyncIterable<unknown>).bind(store);
    wrapped[op] = async function* (prefix: string) {
      try {
        yield* fn(prefix);
      } catch (e) {
        count(op, e);
        throw e;
      }
    };
  }
  // The wrapper inherits from the store, so other members (and instanceof) still work.
  return Object.assign(Object.create(store) as T, wrapped, { bucket: store.bucket });
}

function errorKind(e: unknown): string {
  if (e && typeof e === "object" && "kind" in e && typeof e.kind === "string") return e.kind;
  return "Error";
}
