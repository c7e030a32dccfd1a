// nifti-parse: read + decode + scale one 240x240x155 int16 .nii.gz (a phantom T1), product vs
// nibabel (Debian python3-nibabel) in the same run. Runnable alone: `npx tsx bench/src/nifti.ts`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePhantomSubject, readNifti, writeNifti } from "@synthmri/volume";
import type { BenchResult } from "./types.js";

const REPEATS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const PEER = `
import sys, time
try:
    import nibabel as nib, numpy as np
except ImportError as e:
    print("SKIP " + str(e)); sys.exit(0)
path, n = sys.argv[1], int(sys.argv[2])
nib.load(path).get_fdata(dtype=np.float32)  # warm-up
ts = []
for _ in range(n):
    t0 = time.perf_counter()
    d = nib.load(path).get_fdata(dtype=np.float32)
    ts.append((time.perf_counter() - t0) * 1000)
ts.sort()
print("MS %.3f %d" % (ts[len(ts) // 2], d.size))
`;

function runPeer(path: string): { ms?: number; note?: string } {
  const r = spawnSync("/usr/bin/python3", ["-c", PEER, path, String(REPEATS)], { encoding: "utf8" });
  if (r.error) return { note: `peer skipped: /usr/bin/python3 not runnable (${r.error.message})` };
  const out = r.stdout.trim();
  if (out.startsWith("SKIP"))
    return { note: `peer skipped: import nibabel failed (${out.slice(5)}); apt-get install python3-nibabel` };
  const m = /^MS ([\d.]+)/m.exec(out);
  if (!m) return { note: `peer failed: ${r.stderr.trim().split("\n").pop()}` };
  return { ms: Number(m[1]) };
}

export async function benchNifti(options: { log?: (line: string) => void } = {}): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "bench-nifti-"));
  try {
    const s = generatePhantomSubject(0, { size: [240, 240, 155], seed: "bench" });
    const path = join(dir, "BraTS20_Training_001_t1.nii.gz");
    writeFileSync(path, writeNifti({ shape: s.shape, data: s.t1, affine: s.affine, level: 6 }));
    const parse = () => {
      const v = readNifti(readFileSync(path), path);
      return v.scaled();
    };
    parse(); // warm-up (JIT)
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const t0 = performance.now();
      const d = parse();
      times.push(performance.now() - t0);
      if (d.length !== 240 * 240 * 155) throw new Error("nifti bench: wrong voxel count");
    }
    const productMs = median(times);
    const peer = runPeer(path);
    const round = (v: number) => Math.round(v * 100) / 100;
    const result: BenchResult = {
      bench: "nifti-parse",
      product_ms: round(productMs),
      note: `read + gunzip + decode + scale to float32, 240x240x155 int16 .nii.gz (phantom, zlib level 6), median of ${REPEATS}; peer nibabel load().get_fdata(float32)${peer.note ? `; ${peer.note}` : ""}`,
    };
    if (peer.ms !== undefined) {
      result.peer_ms = round(peer.ms);
      result.ratio = round(productMs / peer.ms);
    }
    if (peer.note) console.error(`nifti-parse: ${peer.note}`);
    options.log?.(JSON.stringify(result));
    return [result];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchNifti({ log: (line) => console.log(line) });
}
