// `synthmri jobs list|watch|cancel`: the long-running work of the four services (each serves its own JobService).
import { JobService, type JobStatus, JobState } from "@synthmri/contracts";
import { SERVICE_NAMES, type ServiceName } from "@synthmri/platform";
import { type Client, createClient, GrpcStatus, isRpcError } from "@synthmri/rpc";
import {
  COMMON_USAGE,
  type CommandIo,
  defaultIo,
  isoTime,
  parse,
  runCommand,
  table,
  UsageError,
} from "../connect/command-kit.js";
import { describeCallError } from "../connect/errors.js";
import { cliClientOptions, serviceAddress } from "../connect/service.js";

export const summary = "list, watch and cancel the services' jobs (imports, trainings, evaluations)";

const USAGE = `usage:
  synthmri jobs list [--service NAME] [--state queued|running|succeeded|failed|cancelled] [--kind KIND] [--limit N]
  synthmri jobs watch ID [--service NAME]     follow a job until it ends (exit 0 succeeded, 1 otherwise)
  synthmri jobs cancel ID [--service NAME] [--reason TEXT]
--service ingest|generator|segmenter|evaluator (default: all four; watch and cancel find the job's service)
${COMMON_USAGE} (--addr needs --service)`;

const STATES: Record<string, JobState> = {
  queued: JobState.QUEUED,
  running: JobState.RUNNING,
  succeeded: JobState.SUCCEEDED,
  failed: JobState.FAILED,
  cancelled: JobState.CANCELLED,
};
const FINAL = new Set([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED]);

type Jobs = Client<(typeof JobService)["method"]>;

function stateName(s: JobState): string {
  return (JobState[s] ?? "UNSPECIFIED").toLowerCase();
}

function progressText(j: JobStatus): string {
  const p = j.progress;
  if (!p) return "";
  return `${Math.round(p.fraction * 100)}% ${p.phase} ${p.message}`.replace(/\s+/g, " ").trim();
}

export async function run(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    (sub ? io.out : io.err)(USAGE);
    return sub ? 0 : 2;
  }
  return runCommand("jobs", USAGE, io, async (target) => {
    const { values, positionals } = parse(rest, {
      service: { type: "string" },
      state: { type: "string" },
      kind: { type: "string" },
      limit: { type: "string" },
      reason: { type: "string" },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const service = values.service as string | undefined;
    if (service !== undefined && !(SERVICE_NAMES as readonly string[]).includes(service))
      throw new UsageError(`--service must be one of ${SERVICE_NAMES.join(", ")}, got ${service}`);
    if (values.addr && !service) throw new UsageError("--addr needs --service (which service listens there)");
    const services = (service ? [service] : [...SERVICE_NAMES]) as ServiceName[];
    const options = cliClientOptions(values, io.env);
    const clients = services.map((s) => {
      const addr = serviceAddress(s, values.addr as string | undefined, io.env);
      return { service: s, addr, jobs: createClient(JobService, addr, options) };
    });
    try {
      if (sub === "list") {
        if (positionals.length) throw new UsageError(`list takes no arguments, got ${positionals.join(" ")}`);
        const state = values.state === undefined ? undefined : STATES[String(values.state)];
        if (values.state !== undefined && state === undefined)
          throw new UsageError(`--state must be one of ${Object.keys(STATES).join(", ")}`);
        const limit = values.limit === undefined ? 50 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit must be a positive integer");
        const rows: { service: string; job: JobStatus }[] = [];
        let reached = 0;
        for (const c of clients) {
          try {
            const r = await c.jobs.listJobs({
              kind: (values.kind as string | undefined) ?? "",
              states: state === undefined ? [] : [state],
              page: { pageSize: limit },
            });
            reached++;
            rows.push(...r.jobs.map((job) => ({ service: c.service, job })));
          } catch (e) {
            // One service down must not hide the others' jobs; say so and go on (single --service: an error).
            if (service) {
              target.service = `${c.service} service`;
              target.addr = c.addr;
              throw e;
            }
            io.err(`(skipped ${c.service}: ${describeCallError(e, `${c.service} service`, c.addr).split("\n")[0]})`);
          }
        }
        if (reached === 0) throw new UsageError("no service answered (see above); pass --addr with --service");
        const created = (j: JobStatus) => Number(j.createdAt?.seconds ?? 0n);
        rows.sort((a, b) => created(b.job) - created(a.job));
        const shown = rows.slice(0, limit);
        if (values.json)
          io.out(
            JSON.stringify(
              shown.map(({ service: s, job: j }) => ({
                service: s,
                id: j.id,
                kind: j.kind,
                state: stateName(j.state),
                fraction: j.progress?.fraction ?? 0,
                message: j.progress?.message ?? "",
                error: j.errorMessage,
                createdAt: isoTime(j.createdAt),
                finishedAt: isoTime(j.finishedAt),
                outputs: j.outputs,
              })),
              null,
              1,
            ),
          );
        else
          for (const line of table(
            ["SERVICE", "ID", "KIND", "STATE", "PROGRESS", "CREATED"],
            shown.map(({ service: s, job: j }) => [
              s,
              j.id,
              j.kind,
              stateName(j.state),
              j.errorMessage ? `error: ${j.errorMessage}` : progressText(j),
              isoTime(j.createdAt),
            ]),
          ))
            io.out(line);
        return 0;
      }
      const id = positionals[0];
      if (!id || positionals.length > 1) throw new UsageError(`${sub} takes one job ID`);
      const owner = await findJob(clients, id, io);
      target.service = `${owner.service} service`;
      target.addr = owner.addr;
      if (sub === "watch") return await watch(owner.jobs, id, io, values.json === true);
      if (sub === "cancel") {
        const r = await owner.jobs.cancelJob({
          jobId: id,
          reason: (values.reason as string | undefined) ?? "cancelled with synthmri jobs cancel",
        });
        const j = r.job;
        io.out(
          values.json
            ? JSON.stringify({ id, service: owner.service, state: stateName(j?.state ?? 0) })
            : `job ${id} (${owner.service}): ${stateName(j?.state ?? 0)}`,
        );
        return 0;
      }
      throw new UsageError(`unknown subcommand '${sub}'`);
    } finally {
      for (const c of clients) c.jobs.close();
    }
  });
}

/** The service that knows job `id` (GetJob answers), trying each in turn. */
async function findJob<T extends { service: string; addr: string; jobs: Jobs }>(
  clients: T[],
  id: string,
  io: CommandIo,
): Promise<T> {
  let lastError: unknown;
  for (const c of clients) {
    try {
      await c.jobs.getJob({ jobId: id });
      return c;
    } catch (e) {
      lastError = e;
      if (isRpcError(e) && e.code === GrpcStatus.NOT_FOUND) continue;
      if (clients.length === 1) throw e;
      io.err(`(skipped ${c.service}: ${describeCallError(e, `${c.service} service`, c.addr).split("\n")[0]})`);
    }
  }
  if (clients.length === 1) throw lastError;
  throw new UsageError(`no service knows job ${id}`);
}

async function watch(jobs: Jobs, id: string, io: CommandIo, json: boolean): Promise<number> {
  let last: JobStatus | undefined;
  let lastLine = "";
  for await (const w of jobs.watchJob({ jobId: id })) {
    if (!w.job) continue;
    last = w.job;
    const line = `${stateName(last.state)} ${progressText(last)}`.trim();
    if (line !== lastLine) {
      if (json)
        io.out(
          JSON.stringify({
            id,
            state: stateName(last.state),
            fraction: last.progress?.fraction ?? 0,
            message: last.progress?.message ?? "",
          }),
        );
      else io.err(line);
      lastLine = line;
    }
  }
  if (!last || !FINAL.has(last.state)) {
    io.err(`the watch of job ${id} ended before the job did; run 'synthmri jobs watch ${id}' again`);
    return 1;
  }
  if (last.state !== JobState.SUCCEEDED) {
    io.err(`job ${id} ${stateName(last.state)}${last.errorMessage ? `: ${last.errorMessage}` : ""}`);
    return 1;
  }
  if (!json) {
    for (const [k, v] of Object.entries(last.outputs)) io.out(`${k}: ${v}`);
    if (Object.keys(last.outputs).length === 0) io.out(`job ${id} succeeded`);
  }
  return 0;
}
