// runChild / serveChild with real child processes: result and progress relay, typed errors, a crash with its
// stderr, environment, abort (SIGTERM, then SIGKILL for a child that ignores it), and a child that stops when
// its parent is SIGKILLed.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Cancelled, childExecArgv, InvalidInput, runChild, SynthError } from "../src/index.js";

const CHILD = fileURLToPath(new URL("./fixtures/child-work.ts", import.meta.url));
const PARENT = fileURLToPath(new URL("./fixtures/child-parent.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "run-child-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves when the process is gone (or a zombie nobody reaps): polls, because no event tells a non-parent. */
async function gone(pid: number, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.split(") ")[1]?.startsWith("Z")) return true;
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("runChild", () => {
  it("relays progress in order and resolves with the child's result, from another process", async () => {
    const steps: number[] = [];
    const r = await runChild<{ total: number; pid: number }, { step: number }>(
      CHILD,
      { mode: "sum", values: [1, 2, 3] },
      { onProgress: (p) => steps.push(p.step) },
    );
    expect(r.total).toBe(6);
    expect(r.pid).not.toBe(process.pid);
    expect(steps).toEqual([1, 2, 3]);
  });

  it("rejects with the child's typed error (class and message kept)", async () => {
    const e = await runChild(CHILD, { mode: "invalid" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidInput);
    expect(e).toBeInstanceOf(SynthError);
    expect((e as InvalidInput).kind).toBe("InvalidInput");
    expect((e as Error).message).toBe("value -1 is not allowed; pass a positive number");
  });

  it("rejects with the exit code and the stderr tail when the child dies without a result", async () => {
    const e = (await runChild(CHILD, { mode: "crash" }, { label: "crasher" }).catch((x: unknown) => x)) as Error;
    expect(e).not.toBeInstanceOf(SynthError);
    expect(e.message).toMatch(/child process crasher exited with code 3/);
    expect(e.message).toContain("about to crash on purpose");
  });

  it("passes env over the parent's environment", async () => {
    expect(
      await runChild(CHILD, { mode: "env", name: "RUN_CHILD_TEST_VAR" }, { env: { RUN_CHILD_TEST_VAR: "x1" } }),
    ).toBe("x1");
  });

  it("abort sends SIGTERM: the child's signal aborts, it exits, the promise rejects with Cancelled", async () => {
    const marker = join(dir, "aborted");
    const ac = new AbortController();
    let pid = 0;
    const p = runChild(
      CHILD,
      { mode: "wait", marker },
      {
        signal: ac.signal,
        onProgress: (u: { pid?: number }) => {
          if (u.pid) {
            pid = u.pid;
            ac.abort(new Cancelled("stop now"));
          }
        },
      },
    );
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Cancelled);
    expect(readFileSync(marker, "utf8")).toMatch(/SIGTERM/);
    expect(await gone(pid, 1000)).toBe(true);
  });

  it("a child that ignores SIGTERM is SIGKILLed after the grace period", async () => {
    const ac = new AbortController();
    let pid = 0;
    const p = runChild(
      CHILD,
      { mode: "wait", marker: join(dir, "never") },
      {
        signal: ac.signal,
        killGraceMs: 300,
        onProgress: (u: { pid?: number }) => {
          if (!u.pid) return;
          pid = u.pid;
          // A stopped process cannot handle SIGTERM: only the SIGKILL after the grace ends it.
          process.kill(pid, "SIGSTOP");
          ac.abort(new Cancelled("stop now"));
        },
      },
    );
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Cancelled);
    expect(existsSync(join(dir, "never"))).toBe(false);
  });

  it("an already aborted signal starts nothing", async () => {
    const ac = new AbortController();
    ac.abort(new Cancelled("too late"));
    await expect(runChild(CHILD, { mode: "sum", values: [] }, { signal: ac.signal })).rejects.toThrow("too late");
  });

  it("a child stops when its parent is SIGKILLed", async () => {
    const marker = join(dir, "orphan");
    const parent = spawn(process.execPath, [...childExecArgv(PARENT, []), PARENT, marker], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.once("exit", (c) => reject(new Error(`parent exited early (${c})`)));
      createInterface({ input: parent.stdout! }).on("line", (l) => {
        const m = /^child (\d+)$/.exec(l);
        if (m) resolve(Number(m[1]));
      });
    });
    parent.kill("SIGKILL");
    expect(await gone(pid, 20_000)).toBe(true);
    expect(readFileSync(marker, "utf8")).toMatch(/parent process exited/);
  });

  it("adds tsx for .ts modules and drops debugger flags", () => {
    expect(childExecArgv("/a/b.ts", ["--inspect=9229", "--max-old-space-size=4096"])).toEqual([
      "--import",
      expect.stringContaining("tsx"),
      "--max-old-space-size=4096",
    ]);
    expect(childExecArgv("/a/b.ts", ["--import", "tsx"])).toEqual(["--import", "tsx"]);
    expect(childExecArgv("/a/b.js", [])).toEqual([]);
  });
});
