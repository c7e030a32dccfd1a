// Everything a killed training job needs to continue exactly where it stopped, and its byte encoding
// ("SMSEGST1" frame: JSON header + the binary blobs back to back).
import { InvalidInput } from "@synthmri/core";
import type { OptimizerState } from "../layers/optimizers.js";
import type { RngState } from "../random/index.js";
import type { SamplerState } from "./sampler.js";
import { frame, unframe } from "./serialize.js";
import type { SegTrainConfig } from "./train-config.js";
import type { ValidationDice } from "./validation.js";

export interface EpochRecord {
  epoch: number;
  meanLoss: number;
  lr: number;
  validation: ValidationDice | null;
  seconds: number;
}

export interface BestModel {
  epoch: number;
  validation: ValidationDice | null;
  /** `saveUNet` bytes. */
  weights: Uint8Array;
}

export interface SegTrainState {
  version: 1;
  seed: number;
  config: SegTrainConfig;
  /** Iterations completed so far (over all epochs). */
  iteration: number;
  /** Last iteration whose epoch-end validation has been done (so a cancel during validation redoes it). */
  validatedIteration: number;
  /** `saveUNet` bytes of the current weights. */
  weights: Uint8Array;
  optimizer: OptimizerState;
  rng: { s: RngState; spare: number | null };
  sampler: SamplerState;
  epochLossSum: number;
  epochLossCount: number;
  best: BestModel | null;
  history: EpochRecord[];
  /** Training wall time so far, summed over resumed runs. */
  elapsedMs: number;
}

const MAGIC = "SMSEGST1";

export function encodeTrainState(state: SegTrainState): Uint8Array {
  const blobs = [state.weights, state.optimizer.data, state.best?.weights ?? new Uint8Array(0)];
  const header = {
    ...state,
    weights: undefined,
    optimizer: { ...state.optimizer, data: undefined },
    best: state.best ? { ...state.best, weights: undefined } : null,
    blobLengths: blobs.map((b) => b.length),
  };
  const payload = new Uint8Array(blobs.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of blobs) {
    payload.set(b, o);
    o += b.length;
  }
  return frame(MAGIC, header, payload);
}

export function decodeTrainState(bytes: Uint8Array): SegTrainState {
  const { header, payload } = unframe<SegTrainState & { blobLengths: number[] }>(
    MAGIC,
    bytes,
    "segmenter training state",
  );
  const lens = header.blobLengths;
  if (!Array.isArray(lens) || lens.length !== 3 || lens.reduce((a, b) => a + b, 0) !== payload.length)
    throw new InvalidInput(
      "segmenter training state: blob lengths do not match the payload (truncated or corrupt checkpoint)",
    );
  const cut = (i: number) => {
    const start = lens.slice(0, i).reduce((a, b) => a + b, 0);
    return payload.slice(start, start + lens[i]);
  };
  const { blobLengths: _, ...rest } = header;
  return {
    ...rest,
    weights: cut(0),
    optimizer: { ...header.optimizer, data: cut(1) },
    best: header.best ? { ...header.best, weights: cut(2) } : null,
  };
}
