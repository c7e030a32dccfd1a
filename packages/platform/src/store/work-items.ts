// The object-store layout an Indexed Job's pods share with whoever started the job (the experiment runner's
// Kubernetes executor): item i's input at <prefix>/items/<i>.json, its result at <prefix>/results/<i>.json.
// A pod finds its item by JOB_COMPLETION_INDEX; a result that exists marks the item done, so a retried pod of a
// finished index does nothing, and the starter collects every result once the Job completes.
import { NotFound } from "@synthmri/core";
import type { ObjectStore } from "./object-store.js";

export const workItemKey = (prefix: string, index: number) => `${prefix}/items/${index}.json`;
export const workResultKey = (prefix: string, index: number) => `${prefix}/results/${index}.json`;

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

export async function putWorkItems(store: ObjectStore, prefix: string, items: readonly unknown[]): Promise<void> {
  for (const [i, item] of items.entries())
    await store.putObject(workItemKey(prefix, i), json(item), { contentType: "application/json" });
}

export async function readWorkItem<T>(store: ObjectStore, prefix: string, index: number): Promise<T> {
  try {
    return JSON.parse((await store.getBuffer(workItemKey(prefix, index))).toString("utf8")) as T;
  } catch (e) {
    if (e instanceof NotFound)
      throw new NotFound(`work item ${index} of ${prefix} does not exist (wrong WORK_PREFIX or index?)`);
    throw e;
  }
}

export async function putWorkResult(store: ObjectStore, prefix: string, index: number, result: unknown): Promise<void> {
  await store.putObject(workResultKey(prefix, index), json(result), { contentType: "application/json" });
}

/** The item's result, or undefined while it has none. */
export async function tryReadWorkResult<T>(store: ObjectStore, prefix: string, index: number): Promise<T | undefined> {
  try {
    return JSON.parse((await store.getBuffer(workResultKey(prefix, index))).toString("utf8")) as T;
  } catch (e) {
    if (e instanceof NotFound) return undefined;
    throw e;
  }
}
