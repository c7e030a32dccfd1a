// `npx tsx bench/src/oversubscribe.ts [--procs 3] [--threads 2] [--steps 6] [--spin 0,default,always] [--rounds 2]`
// Several bench-unet training processes at once (TRAIN_PROCESSES > cores), each with `threads` native threads, once per
// SYNTHMRI_POOL_SPIN_US value, alternating over rounds. Prints per setting the wall time until the last process finished
// its steps (all start together, after their warm-up step) and the CPU seconds they used. Why: an idle pool thread
// polls before it sleeps, which pays on a quiet host (wake-ups through the hypervisor cost more than a short spin) but
// on an oversubscribed one a polling thread holds a core that a thread with work could have had (issue 18).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SELF = fileURLToPath(import.meta.url);

async function child(threads: number, steps: number): Promise<void> {
  const { initBackend } = await import("@synthmri/ml");
  const { createBenchUnet } = await import("./nets/index.js");
  const info = await initBackend({ threads });
  if (!info.nativeKernels) throw new Error("oversubscribe: the native addon is not active");
  const u = createBenchUnet(0);
  u.trainStep(); // warm-up: buffer pool, JIT
  process.stdout.write("ready\n");
  await new Promise<void>((go) => process.stdin.once("data", () => go()));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) u.trainStep();
  const cpu = process.cpuUsage(c0);
  process.stdout.write(
    `${JSON.stringify({ ms: performance.now() - t0, cpu_ms: (cpu.user + cpu.system) / 1000, end: Date.now() })}\n`,
  );
  u.dispose();
  process.exit(0);
}

interface Run {
  spin: string;
  wall_ms: number;
  cpu_s: number;
  step_ms: number[];
}

async function round(procs: number, threads: number, steps: number, spin: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, SYNTHMRI_NATIVE_THREADS: String(threads) };
  // "default": the pool's own choice; "always": the default spin without the host check (the former behaviour).
  delete env.SYNTHMRI_POOL_SPIN_ALWAYS;
  if (spin === "default") delete env.SYNTHMRI_POOL_SPIN_US;
  else if (spin === "always") {
    delete env.SYNTHMRI_POOL_SPIN_US;
    env.SYNTHMRI_POOL_SPIN_ALWAYS = "1";
  } else env.SYNTHMRI_POOL_SPIN_US = spin;
  const kids = Array.from({ length: procs }, () =>
    spawn(
      process.execPath,
      [...process.execArgv, SELF, "--child", "--threads", String(threads), "--steps", String(steps)],
      {
        env,
        stdio: ["pipe", "pipe", "inherit"],
      },
    ),
  );
  const lines = kids.map((k) => {
    const out: string[] = [];
    let buf = "";
    const waiting: ((l: string) => void)[] = [];
    k.stdout.setEncoding("utf8");
    k.stdout.on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiting.shift();
        if (w) w(l);
        else out.push(l);
      }
    });
    return () => new Promise<string>((r) => (out.length ? r(out.shift() as string) : waiting.push(r)));
  });
  for (const next of lines) if ((await next()) !== "ready") throw new Error("oversubscribe: a child failed to start");
  const t0 = Date.now();
  for (const k of kids) k.stdin.write("go\n");
  const results = await Promise.all(
    lines.map(async (next) => JSON.parse(await next()) as { ms: number; cpu_ms: number; end: number }),
  );
  await Promise.all(kids.map((k) => new Promise((r) => (k.exitCode != null ? r(null) : k.once("exit", r)))));
  return {
    spin,
    wall_ms: Math.max(...results.map((r) => r.end)) - t0,
    cpu_s: results.reduce((s, r) => s + r.cpu_ms, 0) / 1000,
    step_ms: results.map((r) => Math.round(r.ms / steps)),
  };
}

const { values } = parseArgs({
  options: {
    child: { type: "boolean", default: false },
    procs: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    steps: { type: "string", default: "6" },
    spin: { type: "string", default: "0,default,always" },
    rounds: { type: "string", default: "2" },
  },
});
const threads = Number(values.threads);
const steps = Number(values.steps);
if (values.child) await child(threads, steps);
else {
  const procs = Number(values.procs);
  const spins = (values.spin ?? "").split(",");
  for (let r = 0; r < Number(values.rounds); r++)
    for (const spin of r % 2 ? [...spins].reverse() : spins) {
      const run = await round(procs, threads, steps, spin);
      console.log(JSON.stringify({ procs, threads, steps, round: r, ...run }));
    }
}
