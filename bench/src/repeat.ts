// `npm run bench:repeat -- --runs 5 -- --only unet-train,unet-infer --threads 1,2`
// Runs `npm run bench -- --json <args>` N times in fresh processes and prints, per bench and thread count, the median
// product and peer figures, the median of the per-run ratios with its range, and each side's speed-up from the
// lowest to the highest thread count. Why: on a shared 2-core host one run's ratio moves +-25 % with the neighbours;
// product and peer alternate within every run (product first, then the peer), so drift hits both sides, and the median
// of N >= 5 such runs is the figure issue 18 asks to decide on. Runs are separate processes so that no run inherits
// the previous one's pools, JIT state or heap.
import { spawnSync } from "node:child_process";
import os from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { BenchResult } from "./types.js";

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "main.ts");

export interface RepeatRow {
  bench: string;
  threads: number;
  runs: number;
  product_ms: number;
  peer_ms: number | undefined;
  ratio: number | undefined;
  ratio_min: number | undefined;
  ratio_max: number | undefined;
  /** product (peer) median ms at the lowest thread count / at this one, per run, median over runs. */
  product_speedup?: number;
  peer_speedup?: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/** Aggregates the timed rows of several `bench --json` runs (profile and count-only rows are ignored). */
export function summarise(runs: BenchResult[][]): RepeatRow[] {
  const key = (r: BenchResult) => `${r.bench}@${r.threads ?? 0}`;
  const groups = new Map<string, BenchResult[]>();
  for (const run of runs)
    for (const r of run) {
      if (r.product_ms === undefined) continue;
      const g = groups.get(key(r)) ?? [];
      g.push(r);
      groups.set(key(r), g);
    }
  const lowest = new Map<string, number>();
  for (const g of groups.values()) {
    const t = g[0].threads ?? 0;
    lowest.set(g[0].bench, Math.min(lowest.get(g[0].bench) ?? t, t));
  }
  const speedup = (bench: string, threads: number, side: "product_ms" | "peer_ms") => {
    const base = lowest.get(bench) ?? threads;
    if (base === threads) return undefined;
    const per: number[] = [];
    for (const run of runs) {
      const a = run.find((r) => r.bench === bench && r.threads === base)?.[side];
      const b = run.find((r) => r.bench === bench && r.threads === threads)?.[side];
      if (a !== undefined && b !== undefined && b > 0) per.push(a / b);
    }
    return per.length ? r2(median(per)) : undefined;
  };
  const rows: RepeatRow[] = [];
  for (const g of groups.values()) {
    const { bench, threads = 0 } = g[0];
    const peers = g.map((r) => r.peer_ms).filter((v): v is number => v !== undefined);
    const ratios = g.map((r) => r.ratio).filter((v): v is number => v !== undefined);
    rows.push({
      bench,
      threads,
      runs: g.length,
      product_ms: r2(median(g.map((r) => r.product_ms as number))),
      peer_ms: peers.length ? r2(median(peers)) : undefined,
      ratio: ratios.length ? r2(median(ratios)) : undefined,
      ratio_min: ratios.length ? Math.min(...ratios) : undefined,
      ratio_max: ratios.length ? Math.max(...ratios) : undefined,
      product_speedup: speedup(bench, threads, "product_ms"),
      peer_speedup: speedup(bench, threads, "peer_ms"),
    });
  }
  return rows;
}

function main(): void {
  const split = process.argv.indexOf("--");
  const own = split < 0 ? process.argv.slice(2) : process.argv.slice(2, split);
  const benchArgs = split < 0 ? [] : process.argv.slice(split + 1);
  const { values } = parseArgs({
    args: own,
    options: { runs: { type: "string", default: "5" }, json: { type: "boolean" } },
  });
  const n = Number(values.runs);
  if (!Number.isInteger(n) || n < 1) throw new Error("--runs takes a positive integer");
  const runs: BenchResult[][] = [];
  const loads: number[] = [];
  for (let i = 0; i < n; i++) {
    // The 1-minute load average before each run: a run started on a busy host is visible as such.
    loads.push(os.loadavg()[0]);
    process.stderr.write(`# run ${i + 1}/${n} (load ${loads[i].toFixed(1)}): bench --json ${benchArgs.join(" ")}\n`);
    const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "--json", ...benchArgs], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`bench run ${i + 1} exited with ${r.status ?? r.signal}`);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("{"));
    const rows = lines.map((l) => JSON.parse(l) as BenchResult);
    for (const row of rows)
      if (row.ratio !== undefined)
        process.stderr.write(
          `#   ${row.bench} threads=${row.threads}: ${row.product_ms} vs ${row.peer_ms} ms (${row.ratio})\n`,
        );
    runs.push(rows);
  }
  process.stderr.write(`# load before each run: ${loads.map((l) => l.toFixed(1)).join(", ")}\n`);
  for (const row of summarise(runs)) {
    if (values.json) process.stdout.write(`${JSON.stringify(row)}\n`);
    else
      process.stdout.write(
        `${row.bench.padEnd(16)} threads=${row.threads} runs=${row.runs} product=${row.product_ms} ms peer=${row.peer_ms ?? "-"} ms ratio=${row.ratio ?? "-"} [${row.ratio_min ?? "-"}..${row.ratio_max ?? "-"}]${row.product_speedup ? ` speed-up product ${row.product_speedup}x peer ${row.peer_speedup ?? "-"}x` : ""}\n`,
      );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
