// How the experiment talks to jobs over gRPC: retrying a submit over a dropped connection, telling NOT_FOUND
// apart, and drawing a JobState on a board row. Shared by every stage.
import { JobState } from "@synthmri/contracts";
import type { RowState } from "../../ui/progress-board.js";

export function rowState(state: JobState): RowState {
  switch (state) {
    case JobState.QUEUED:
      return "queued";
    case JobState.RUNNING:
      return "running";
    case JobState.SUCCEEDED:
      return "done";
    case JobState.FAILED:
      return "failed";
    case JobState.CANCELLED:
      return "cancelled";
    default:
      return "waiting";
  }
}

/**
 * Submits a job, retrying when the call never reached a handler's answer because the connection dropped
 * (UNAVAILABLE, or INTERNAL "RST_STREAM" when a busy server reset it). A rare duplicate job is the price;
 * losing the experiment to a transport hiccup is worse.
 */
export async function submit<T>(call: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      const e = err as { code?: number; details?: string; message?: string };
      const transient =
        e.code === 14 || (e.code === 13 && /RST_STREAM|without gRPC status/.test(e.details ?? e.message ?? ""));
      if (!transient || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 2000 * i));
    }
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 5;
}

/** Whether a Get* call finds its artifact (NOT_FOUND = false; any other error is thrown). */
export async function exists(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
