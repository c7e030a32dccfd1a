// One figure of `npm run bench`. Times in ms (lower is better) or throughputs in MB/s (higher is better);
// `ratio` is always oriented so that lower is better: product_ms / peer_ms, or peer_mb_s / product_mb_s.
import type { StepProfile } from "./profile.js";

export interface BenchResult {
  bench: string;
  product_ms?: number;
  peer_ms?: number;
  product_mb_s?: number;
  peer_mb_s?: number;
  ratio?: number;
  threads?: number;
  backend?: string;
  note?: string;
  /** `--profile`: where a step goes, per kernel kind (bench/src/profile.ts). */
  profile?: StepProfile;
  /** webgpu only (issue 15), per step after warm-up: compute dispatches of the product's path, and of stock
   * tfjs-backend-webgpu in the same run; GPU buffers created; bytes read back to the host; queue submissions. */
  dispatches?: number;
  dispatches_stock?: number;
  buffers_created?: number;
  readback_bytes?: number;
  submits?: number;
}

/** A bench module that `bench/src/main.ts` runs: returns its figures (or none when skipped, with a note). */
export interface BenchModuleOptions {
  threads: number[];
  only?: Set<string>;
  log: (line: string) => void;
}
