// TRAIN_PROCESSES=1 with the service as a separate process (main.ts): a member training in its child process
// when the SERVICE is SIGKILLed stops with it (no orphan keeps training), and the restarted service resumes
// the job from the child's last checkpoint (attempt 2) and finishes, as without child processes.
import type { ChildProcess } from "node:child_process";
import { GeneratorService, JobService, JobState, type JobStatus } from "@synthmri/contracts";
import { createClient } from "@synthmri/rpc";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checkpointId, latestCheckpoint } from "../src/domain/checkpoints.js";
import { startGeneratorProcess, TINY, useProcessStore } from "./fixtures.js";

const h = useProcessStore("generator-iso-resume-", { beforeAll, afterAll });

interface Started {
  proc: ChildProcess;
  address: string;
  /** Resolves with the pid of the first training child the service starts. */
  child: Promise<number>;
}

async function startProcess(): Promise<Started> {
  let onChild: (pid: number) => void = () => undefined;
  const child = new Promise<number>((resolve) => {
    onChild = resolve;
  });
  const started = await startGeneratorProcess(h.s3, h.dir, h.procs, {
    env: { TRAIN_PROCESSES: "1" },
    onLine: (line) => {
      if (line.includes('"training child started"')) onChild(JSON.parse(line).pid as number);
    },
  });
  return { ...started, child };
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

it("a service SIGKILLed while its child trains: the child stops, the restarted service resumes the job", async () => {
  const CONFIG = { ...TINY, resolution: 8, totalKimg: 0.096, checkpointEveryKimg: 0.032 };
  const first = await startProcess();
  const g1 = createClient(GeneratorService, first.address);
  const j1 = createClient(JobService, first.address);
  const res = await g1.trainGan({ datasetId: "toy", seed: 21, config: CONFIG });
  const exited = new Promise<void>((resolve) => first.proc.once("exit", () => resolve()));
  try {
    for await (const r of j1.watchJob({ jobId: res.jobId, minIntervalMs: 1 })) {
      const m = r.job?.progress?.metrics ?? {};
      if (m.checkpoint_kimg !== undefined && first.proc.exitCode === null) first.proc.kill("SIGKILL");
    }
  } catch {
    // the watch breaks with the process
  }
  await exited;
  g1.close();
  j1.close();
  const childPid = await first.child;
  expect(await gone(childPid, 20_000)).toBe(true);

  const second = await startProcess();
  const j2 = createClient(JobService, second.address);
  let last: JobStatus | undefined;
  for await (const r of j2.watchJob({ jobId: res.jobId, minIntervalMs: 1 })) last = r.job;
  j2.close();
  second.proc.kill("SIGTERM");
  expect(last?.errorMessage).toBe("");
  expect(last?.state).toBe(JobState.SUCCEEDED);
  expect(last?.attempt).toBe(2);
  expect(await second.child).not.toBe(childPid);
  const final = await latestCheckpoint(h.store, h.artifacts, res.ganId);
  expect(final?.id).toBe(checkpointId(res.ganId, 96));
}, 120_000);
