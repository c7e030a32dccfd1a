import { InvalidInput } from "@synthmri/core";
import { SeededRandom } from "../random.js";

/** Seed 000: 56 of 369 subjects held out for testing. */
export const SEED000_TEST_FRACTION = 56 / 369;

export interface SubjectSplit {
  seed: string;
  testFraction: number;
  train: string[];
  test: string[];
}

/**
 * Deterministic subject-level split: the sorted ids are shuffled by the seed and the first
 * round(n * testFraction) go to test. Same ids + seed -> same split, whatever the input order.
 */
export function splitSubjects(
  subjects: string[],
  opts: { seed?: string | number; testFraction?: number } = {},
): SubjectSplit {
  const seed = String(opts.seed ?? "000");
  const testFraction = opts.testFraction ?? SEED000_TEST_FRACTION;
  if (!(testFraction >= 0 && testFraction <= 1))
    throw new InvalidInput(`test fraction ${testFraction} must be between 0 and 1`);
  const ids = [...new Set(subjects)].sort();
  if (ids.length !== subjects.length) throw new InvalidInput("subject ids must be unique to split them");
  const shuffled = new SeededRandom(`split:${seed}`).shuffle([...ids]);
  const nTest = Math.round(ids.length * testFraction);
  return {
    seed,
    testFraction,
    test: shuffled.slice(0, nTest).sort(),
    train: shuffled.slice(nTest).sort(),
  };
}

/**
 * The split seed the ingest service uses for an experiment's numeric seed: three digits, so seed 0 is seed 000's
 * "000" (and "0" would be another split). Everything that must hold out the subjects ingest holds out uses this.
 */
export function splitSeedText(seed: number | string): string {
  return String(seed).padStart(3, "0");
}
