// Draws (pool, slice) pairs so that every pool is drawn equally often: pools are dealt in shuffled rounds
// (each round uses every pool once), so after n draws each pool's count is within 1 of n/pools, while the
// order stays random. The slice within a pool is uniform with replacement (nnU-Net samples the same way).
// Foreground oversampling (nnU-Net's oversample_foreground_percent): a draw marked `foreground` picks the
// slice uniformly among the pool's slices that contain tumour, so sparse classes are seen in every batch.
// The state is tiny and serialisable, so a resumed job draws exactly what the uninterrupted one would have.
import { InvalidInput } from "@synthmri/core";
import type { Rng } from "../random/index.js";

export interface SamplerState {
  /** Pools still to deal in the current round. */
  round: number[];
}

export class MixedSampler {
  private round: number[];

  /**
   * `foreground[pool]` lists the pool's slices with any non-background label (ascending); a pool with no
   * such slice (or no list) falls back to uniform draws when a foreground draw is asked for.
   */
  constructor(
    private readonly poolSizes: number[],
    state?: SamplerState,
    private readonly foreground: number[][] = [],
  ) {
    if (!poolSizes.length) throw new InvalidInput("training needs at least one data pool");
    poolSizes.forEach((n, i) => {
      if (!(n > 0)) throw new InvalidInput(`training pool ${i} is empty`);
    });
    this.round = state ? [...state.round] : [];
  }

  next(rng: Rng, foreground = false): { pool: number; index: number } {
    if (!this.round.length) this.round = rng.shuffle(this.poolSizes.map((_, i) => i));
    const pool = this.round.pop()!;
    const fg = foreground ? this.foreground[pool] : undefined;
    if (fg?.length) return { pool, index: fg[rng.int(fg.length)] };
    return { pool, index: rng.int(this.poolSizes[pool]) };
  }

  getState(): SamplerState {
    return { round: [...this.round] };
  }
}

/**
 * Which batch positions are forced to contain foreground: nnU-Net forces the last
 * batch - round(batch * (1 - fraction)) samples (fraction 0.33, batch 8 -> the last 3).
 */
export function forcedForegroundCount(batchSize: number, fraction: number): number {
  if (!(fraction > 0)) return 0;
  return batchSize - Math.round(batchSize * (1 - Math.min(1, fraction)));
}
