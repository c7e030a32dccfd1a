// One entry point that picks the implementation from config.family.
import { DcganModel } from "./dcgan.js";
import type { GanConfig } from "./config.js";
import type { GanModel, GanState } from "./model.js";
import { PganModel } from "./pgan.js";

export function createGan(config: GanConfig, seed: number): GanModel {
  return config.family === "pgan" ? new PganModel(config, seed) : new DcganModel(config, seed);
}

/** Rebuilds a model from a saved state (its own config and seed), then loads weights, moments and Rng. */
export function ganFromState(state: GanState): GanModel {
  const model = createGan(state.config, state.seed);
  model.loadState(state);
  return model;
}

/** A model to sample from: the saved state with the generator's moving average (Gs) when it keeps one. */
export function samplerFromState(state: GanState): GanModel {
  const model = ganFromState(state);
  model.useAveragedGenerator();
  return model;
}
