import type { Rng } from "../random/index.js";
import type { SegSample, Transform } from "./types.js";

/** Applies transforms in order with the same generator, so one seed determines the whole pipeline. */
export class Compose implements Transform {
  readonly name = "Compose";
  constructor(readonly transforms: Transform[]) {}
  apply(sample: SegSample, rng: Rng): SegSample {
    let s = sample;
    for (const t of this.transforms) s = t.apply(s, rng);
    return s;
  }
}
