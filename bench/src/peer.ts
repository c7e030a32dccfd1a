// The PyTorch peer (shared/peers/torch_bench.py, run with Debian's python3-torch): run once per bench
// session with the same thread counts, parsed into (bench, threads) -> median ms.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PYTHON = "/usr/bin/python3";
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** shared/peers sits next to the checkout (../shared/peers from the repo root). */
export const TORCH_BENCH = resolve(repoRoot, "../shared/peers/torch_bench.py");

export interface PeerFigure {
  bench: string;
  threads: number;
  ms_median: number;
  ms_min: number;
  params: number;
  torch: string;
}

/** Null when the peer can run; otherwise why not (said in the bench output as "peer skipped"). */
export function peerUnavailable(): string | null {
  if (!existsSync(TORCH_BENCH)) return `${TORCH_BENCH} not found`;
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    return "python3-torch not installed (apt-get install -y python3-torch libopenblas0-pthread)";
  return null;
}

export function runTorchPeer(opts: {
  benches: ("unet" | "gan")[];
  threads: number[];
  steps: number;
  warmup: number;
  log: (l: string) => void;
}): PeerFigure[] {
  const out: PeerFigure[] = [];
  for (const b of opts.benches) {
    const args = [
      TORCH_BENCH,
      "--bench",
      b,
      "--threads",
      opts.threads.join(","),
      "--steps",
      String(opts.steps),
      "--warmup",
      String(opts.warmup),
    ];
    opts.log(`peer: ${PYTHON} ${args.join(" ")}`);
    const r = spawnSync(PYTHON, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    if (r.status !== 0) {
      opts.log(`peer failed (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}`);
      continue;
    }
    for (const line of r.stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      const j = JSON.parse(line) as PeerFigure;
      out.push(j);
    }
    const blas = (r.stderr ?? "").split("\n").find((l) => l.startsWith("# torch"));
    if (blas) opts.log(`peer ${blas.slice(2)}`);
  }
  return out;
}
