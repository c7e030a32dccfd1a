// The supervisor boots services as separate processes on one shared embedded store, reports health, notices a
// crash (naming the service and its log), and leaves no process behind when stopped.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../cli/src/experiment/session.js";
import { checkHealth } from "../../cli/src/supervisor/health.js";
import { type Supervisor, startSupervisor } from "../../cli/src/supervisor/supervisor.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("supervisor", () => {
  let sup: Supervisor | undefined;
  afterAll(async () => {
    await sup?.stop();
  });

  it("boots, serves health, detects a crash and stops without orphans", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "synthmri-sup-"));
    sup = await startSupervisor({ rootDir: REPO_ROOT, dataDir, services: ["ingest", "evaluator"] });
    expect(await sup.health()).toEqual({ ingest: "SERVING", evaluator: "SERVING" });
    expect(sup.s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const pids = sup.processes.map((p) => p.pid);
    expect(pids.every(alive)).toBe(true);

    // A child dying on its own is reported with the service's name and log.
    const ingest = sup.processes.find((p) => p.service === "ingest");
    process.kill(ingest?.pid ?? -1, "SIGKILL");
    await expect(sup.crashed).rejects.toThrow(/service ingest exited unexpectedly .*ingest\.log/s);

    await sup.stop();
    expect(pids.some(alive)).toBe(false);
    expect(await checkHealth(sup.addresses.evaluator, "", 500)).toBe("UNREACHABLE");
  }, 120_000);

  it("services stop on their own when the supervisor is killed outright", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "synthmri-sup-"));
    const parent = spawn(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "test/e2e/fixtures/supervise-and-wait.ts"), REPO_ROOT, dataDir],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    const pids = await new Promise<number[]>((resolve, reject) => {
      let text = "";
      parent.stdout.on("data", (d) => {
        text += String(d);
        const line = text.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve((JSON.parse(line) as { pids: number[] }).pids);
      });
      parent.once("exit", (code) => reject(new Error(`supervisor process exited early (${code})`)));
    });
    expect(pids.every(alive)).toBe(true);
    parent.kill("SIGKILL");
    // The orphaned service sees its IPC channel close and shuts down; wait for that (bounded).
    const deadline = Date.now() + 30_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(pids.some(alive)).toBe(false);
  }, 120_000);
});
