// One job runner per service: start() returns an id at once, work runs under a concurrency limit with an
// AbortSignal, watchers get event-driven snapshots, and every status is persisted under
// jobs/<service>/<id>.json so that after a restart recover() resumes interrupted jobs or marks them FAILED.
import { randomBytes } from "node:crypto";
import { type Context, context, ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { Cancelled, FailedPrecondition, NotFound, SynthError, Unavailable } from "@synthmri/core";
import { silentLogger } from "../log/logger.js";
import type { Logger } from "@synthmri/core";
import type { ObjectStore } from "../store/object-store.js";
import { tracer, tracingEnabled } from "../tracing/tracing.js";
import { EtaEstimator } from "./eta.js";
import { checkJobId, JobPersistence } from "./job-persistence.js";
import {
  isTerminalJobState,
  type JobContext,
  type JobProgress,
  type JobState,
  type JobStatus,
  type JobWork,
} from "./job-types.js";

export interface JobRunnerOptions {
  store: ObjectStore;
  logger?: Logger;
  /** Service name: statuses live under jobs/<service>/. */
  service: string;
  /** Jobs running at once (config.jobConcurrency); default 1. */
  concurrency?: number;
  /** Progress is persisted at most this often; state changes always at once. Default 2000 ms. */
  persistIntervalMs?: number;
  /** Finished jobs kept in memory for list(); older ones are still readable through get(). Default 500. */
  keepFinished?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Work of any params type (a handler typed for its own params fits here). */
export type AnyJobWork = (ctx: JobContext<never>) => Promise<unknown>;
export type ResumeHandlers = Record<string, AnyJobWork>;

interface JobRecord {
  status: JobStatus;
  work: AnyJobWork | undefined;
  controller: AbortController;
  listeners: Set<(s: JobStatus, stateChange: boolean) => void>;
  eta: EtaEstimator;
  /** Set by shutdown(): the job stays RUNNING/QUEUED in the store for recover(). */
  interrupted: boolean;
  settled: Promise<void> | undefined;
  /** The trace context that started the job (the RPC's span): the job's span is its child. */
  traceParent?: Context;
}

export class JobRunner {
  readonly service: string;
  private readonly logger: Logger;
  private readonly concurrency: number;
  private readonly keepFinished: number;
  private readonly now: () => number;
  private readonly persistence: JobPersistence;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly queue: string[] = [];
  private readonly globalListeners = new Set<(s: JobStatus) => void>();
  private running = 0;
  private stopped = false;

  constructor(options: JobRunnerOptions) {
    if (!/^[a-z][a-z0-9-]*$/.test(options.service)) {
      throw new FailedPrecondition(
        `job runner service name "${options.service}" must be lower-case letters, digits, "-"`,
      );
    }
    this.service = options.service;
    this.logger = (options.logger ?? silentLogger).child({ component: "jobs" });
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.keepFinished = options.keepFinished ?? 500;
    this.now = options.now ?? Date.now;
    this.persistence = new JobPersistence(
      options.store,
      this.service,
      this.logger,
      options.persistIntervalMs ?? 2000,
      this.now,
    );
  }

  /** Queues work and returns its job id immediately. */
  start<P, R>(kind: string, params: P, work: JobWork<P, R>): string {
    if (this.stopped) throw new Unavailable(`${this.service} is shutting down; start the job again after the restart`);
    const id = `job-${this.now().toString(36)}-${randomBytes(4).toString("hex")}`;
    const iso = new Date(this.now()).toISOString();
    const status: JobStatus = {
      id,
      kind,
      service: this.service,
      state: "QUEUED",
      params: params ?? null,
      fraction: 0,
      message: "queued",
      phase: "",
      metrics: {},
      etaSeconds: undefined,
      attempt: 1,
      cancelRequested: false,
      createdAt: iso,
      updatedAt: iso,
    };
    this.enqueue(status, work as AnyJobWork, tracingEnabled() ? context.active() : undefined);
    return id;
  }

  /** The job's current status (from memory, else from the store). Throws NotFound. */
  async get(id: string): Promise<JobStatus> {
    const rec = this.jobs.get(id);
    if (rec) return snapshot(rec.status);
    const stored = await this.persistence.load(id);
    if (!stored) throw new NotFound(`job "${id}" not found in service ${this.service}`);
    return stored;
  }

  /** Jobs known to this process (started here, or loaded by recover()), oldest first. */
  async list(): Promise<JobStatus[]> {
    return [...this.jobs.values()]
      .map((r) => snapshot(r.status))
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  }

  /**
   * Snapshots of the job: the current one first, then one per change, ending with the terminal state.
   * Event driven; a slow consumer gets consecutive progress updates coalesced (never a state change).
   */
  async *watch(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<JobStatus> {
    const rec = this.jobs.get(id);
    if (!rec) {
      yield await this.get(id);
      return;
    }
    // Only a progress update still waiting behind another progress update is replaced; state changes and
    // the first snapshot of each state are always delivered.
    const pending: { s: JobStatus; keep: boolean }[] = [{ s: snapshot(rec.status), keep: true }];
    let wake: (() => void) | undefined;
    const listener = (s: JobStatus, stateChange: boolean) => {
      const last = pending[pending.length - 1];
      if (last && !last.keep && !stateChange) last.s = s;
      else pending.push({ s, keep: stateChange });
      wake?.();
    };
    const onAbort = () => wake?.();
    rec.listeners.add(listener);
    options.signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        while (pending.length > 0) {
          const { s } = pending.shift()!;
          yield s;
          if (isTerminalJobState(s.state)) return;
        }
        if (options.signal?.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      rec.listeners.delete(listener);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Resolves with the terminal status. */
  async wait(id: string): Promise<JobStatus> {
    let last: JobStatus | undefined;
    for await (const s of this.watch(id)) last = s;
    return last!;
  }

  /** Every status change of every job (metrics, logs). Returns an unsubscribe function. */
  subscribe(listener: (s: JobStatus) => void): () => void {
    this.globalListeners.add(listener);
    return () => this.globalListeners.delete(listener);
  }

  /**
   * Cancels: a queued job ends CANCELLED at once; a running job has its signal aborted and ends CANCELLED
   * when its work stops (if the work still resolves, it ends SUCCEEDED). Finished jobs are left as they are.
   */
  async cancel(id: string, reason = "cancelled by request"): Promise<JobStatus> {
    const rec = this.jobs.get(id);
    if (!rec) return this.get(id);
    const s = rec.status;
    if (s.state === "QUEUED") {
      const i = this.queue.indexOf(id);
      if (i >= 0) this.queue.splice(i, 1);
      s.cancelRequested = true;
      this.finish(rec, "CANCELLED", { message: reason });
    } else if (s.state === "RUNNING" && !s.cancelRequested) {
      s.cancelRequested = true;
      s.message = `cancelling: ${reason}`;
      rec.controller.abort(new Cancelled(reason));
      this.changed(rec, true);
    }
    return snapshot(rec.status);
  }

  /**
   * After a restart: jobs persisted as QUEUED or RUNNING by an earlier process are resumed when a handler
   * for their kind is given (it gets the persisted params, ctx.resumed = true), otherwise marked FAILED.
   * Finished jobs are loaded so that list() shows them.
   */
  async recover(resumeHandlers: ResumeHandlers = {}): Promise<{ resumed: string[]; failed: string[] }> {
    const resumed: string[] = [];
    const failed: string[] = [];
    for await (const stored of this.persistence.loadAll()) {
      if (this.jobs.has(stored.id)) continue;
      if (isTerminalJobState(stored.state)) {
        this.jobs.set(stored.id, newRecord(stored, undefined));
        continue;
      }
      const handler = resumeHandlers[stored.kind];
      if (handler) {
        const status: JobStatus = {
          ...stored,
          state: "QUEUED",
          attempt: (stored.attempt ?? 1) + 1,
          cancelRequested: false,
          message: "resuming after restart",
          etaSeconds: undefined,
          updatedAt: new Date(this.now()).toISOString(),
        };
        this.enqueue(status, handler);
        resumed.push(stored.id);
      } else {
        const rec = newRecord({ ...stored }, undefined);
        this.jobs.set(stored.id, rec);
        this.finish(rec, "FAILED", {
          error: {
            kind: "Unavailable",
            message: `interrupted by restart (no resume handler for job kind "${stored.kind}"); start it again`,
          },
        });
        failed.push(stored.id);
      }
    }
    this.logger.info("jobs recovered", { resumed: resumed.length, failed: failed.length });
    return { resumed, failed };
  }

  /**
   * Stops for a restart: aborts running work (signal reason: Cancelled "service shutting down"), waits up
   * to graceMs for it, and writes the latest statuses. Interrupted jobs stay RUNNING/QUEUED in the store
   * so the next process's recover() resumes or fails them.
   */
  async shutdown(options: { graceMs?: number } = {}): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    const settling: Promise<void>[] = [];
    for (const rec of this.jobs.values()) {
      if (rec.status.state !== "RUNNING") continue;
      rec.interrupted = true;
      rec.controller.abort(new Cancelled("service shutting down"));
      if (rec.settled) settling.push(rec.settled);
    }
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.graceMs ?? 10_000);
    });
    await Promise.race([Promise.all(settling), grace]);
    clearTimeout(timer);
    await this.persistence.flush();
  }

  /** Writes every pending (throttled) status now. */
  flush(): Promise<void> {
    return this.persistence.flush();
  }

  private enqueue(status: JobStatus, work: AnyJobWork, traceParent?: Context): void {
    const rec = newRecord(status, work);
    rec.traceParent = traceParent;
    this.jobs.set(status.id, rec);
    this.queue.push(status.id);
    this.changed(rec, true);
    // Start on a later tick so start() returns (and callers can watch) before the work begins.
    queueMicrotask(() => this.pump());
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const rec = this.jobs.get(this.queue.shift()!);
      if (rec?.status.state === "QUEUED") rec.settled = this.run(rec);
    }
  }

  private async run(rec: JobRecord): Promise<void> {
    this.running++;
    const s = rec.status;
    s.state = "RUNNING";
    s.startedAt = new Date(this.now()).toISOString();
    s.message = s.attempt > 1 ? "resumed" : "running";
    this.changed(rec, true);
    rec.eta.add(this.now(), s.fraction);
    const log = this.logger.child({ jobId: s.id, jobKind: s.kind });
    const ctx: JobContext<unknown> = {
      id: s.id,
      kind: s.kind,
      params: s.params,
      signal: rec.controller.signal,
      attempt: s.attempt,
      resumed: s.attempt > 1,
      logger: log,
      progress: (update) => this.progress(rec, update),
    };
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    // A span per run of the job, child of the call that started it (a resumed job starts a trace of its own);
    // the job's log lines carry its trace id. Only the kind and the generated job id go on it.
    const span = tracingEnabled()
      ? tracer().startSpan(
          `job ${s.kind}`,
          { attributes: { "job.kind": s.kind, "job.id": s.id, "job.attempt": s.attempt } },
          rec.traceParent ?? ROOT_CONTEXT,
        )
      : undefined;
    const work = () => {
      log.info("job started", { attempt: s.attempt });
      return rec.work!(ctx as JobContext<never>);
    };
    try {
      const result = span
        ? await context.with(trace.setSpan(rec.traceParent ?? ROOT_CONTEXT, span), work)
        : await work();
      outcome = { ok: true, result };
    } catch (error) {
      outcome = { ok: false, error };
    }
    if (span) {
      if (!outcome.ok && !rec.interrupted && !s.cancelRequested) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    rec.traceParent = undefined; // finished records stay in memory for list(): keep no context alive with them
    this.running--;
    if (rec.interrupted) {
      log.info("job interrupted by shutdown");
    } else if (outcome.ok) {
      this.finish(rec, "SUCCEEDED", { result: outcome.result, message: s.message === "running" ? "done" : s.message });
    } else if (s.cancelRequested && rec.controller.signal.aborted) {
      this.finish(rec, "CANCELLED", { message: (rec.controller.signal.reason as Error)?.message ?? "cancelled" });
    } else {
      const err = outcome.error;
      const kind = err instanceof SynthError ? err.kind : "Internal";
      const message = err instanceof Error ? err.message : String(err);
      log.error("job failed", { err });
      this.finish(rec, "FAILED", { error: { kind, message } });
    }
    this.pump();
  }

  private progress(rec: JobRecord, update: JobProgress): void {
    const s = rec.status;
    if (s.state !== "RUNNING") return;
    if (typeof update.fraction === "number" && Number.isFinite(update.fraction)) {
      s.fraction = Math.min(1, Math.max(0, update.fraction));
      rec.eta.add(this.now(), s.fraction);
    }
    if (update.message !== undefined && !s.cancelRequested) s.message = update.message;
    if (update.phase !== undefined) s.phase = update.phase;
    if (update.metrics) {
      for (const [k, v] of Object.entries(update.metrics)) if (Number.isFinite(v)) s.metrics[k] = v;
    }
    s.etaSeconds =
      update.etaSeconds !== undefined && Number.isFinite(update.etaSeconds) ? update.etaSeconds : rec.eta.estimate();
    this.changed(rec, false);
  }

  private finish(
    rec: JobRecord,
    state: Extract<JobState, "SUCCEEDED" | "FAILED" | "CANCELLED">,
    fields: { message?: string; result?: unknown; error?: JobStatus["error"] },
  ): void {
    const s = rec.status;
    s.state = state;
    s.finishedAt = new Date(this.now()).toISOString();
    s.etaSeconds = state === "SUCCEEDED" ? 0 : undefined;
    if (state === "SUCCEEDED") s.fraction = 1;
    if (fields.result !== undefined) s.result = fields.result;
    if (fields.error) s.error = fields.error;
    s.message = fields.message ?? (fields.error ? `failed: ${fields.error.message}` : s.message);
    rec.work = undefined;
    this.changed(rec, true);
    this.logger.info("job finished", { jobId: s.id, jobKind: s.kind, state });
    this.forgetOldFinished();
  }

  private changed(rec: JobRecord, stateChange: boolean): void {
    rec.status.updatedAt = new Date(this.now()).toISOString();
    const snap = snapshot(rec.status);
    this.persistence.save(snap, stateChange);
    for (const l of rec.listeners) l(snap, stateChange);
    for (const l of this.globalListeners) {
      try {
        l(snap);
      } catch (err) {
        this.logger.warn("job listener threw", { err });
      }
    }
  }

  private forgetOldFinished(): void {
    const finished = [...this.jobs.values()].filter((r) => isTerminalJobState(r.status.state));
    for (let i = 0; i < finished.length - this.keepFinished; i++) this.jobs.delete(finished[i].status.id);
  }
}

function newRecord(status: JobStatus, work: AnyJobWork | undefined): JobRecord {
  checkJobId(status.id);
  return {
    status,
    work,
    controller: new AbortController(),
    listeners: new Set(),
    eta: new EtaEstimator(),
    interrupted: false,
    settled: undefined,
  };
}

function snapshot(s: JobStatus): JobStatus {
  return { ...s, metrics: { ...s.metrics }, error: s.error ? { ...s.error } : undefined };
}
