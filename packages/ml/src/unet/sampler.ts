// Draws (pool, slice) pairs so that every pool is drawn equally often: pools are dealt in shuffled rounds
// (each round uses every pool once), so after n draws each pool's count is within 1 of n/pools, while the
// order stays random. The slice within a pool is uniform with replacement (nnU-Net samples the same way).
// The state is tiny and serialisable, so a resumed job draws exactly what the uninterrupted one would have.
import { InvalidInput } from "@synthmri/platform";
import type { Rng } from "../random/index.js";

export interface SamplerState {
  /** Pools still to deal in the current round. */
  round: number[];
}

export class MixedSampler {
  private round: number[];

  constructor(
    private readonly poolSizes: number[],
    state?: SamplerState,
  ) {
    if (!poolSizes.length) throw new InvalidInput("training needs at least one data pool");
    poolSizes.forEach((n, i) => {
      if (!(n > 0)) throw new InvalidInput(`training pool ${i} is empty`);
    });
    this.round = state ? [...state.round] : [];
  }

  next(rng: Rng): { pool: number; index: number } {
    if (!this.round.length) this.round = rng.shuffle(this.poolSizes.map((_, i) => i));
    const pool = this.round.pop()!;
    return { pool, index: rng.int(this.poolSizes[pool]) };
  }

  getState(): SamplerState {
    return { round: [...this.round] };
  }
}
