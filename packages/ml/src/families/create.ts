// One entry point per family: build from (config, seed), or rebuild from a saved state.
import { InvalidInput } from "@synthmri/core";
import type { DdpmConfig } from "./ddpm/config.js";
import { DdpmModel } from "./ddpm/model.js";
import type { SpadeConfig } from "./spade/config.js";
import { SpadeTwoStageModel } from "./spade/model.js";
import type { StyleGan2Config } from "./stylegan2/config.js";
import { StyleGan2Model } from "./stylegan2/model.js";
import type { FamilyConfigBase, FamilyModel, FamilyState } from "./model.js";

export type FamilyConfig = DdpmConfig | StyleGan2Config | SpadeConfig;

export function createFamilyModel(config: FamilyConfigBase, seed: number): FamilyModel {
  switch (config.family) {
    case "ddpm":
      return new DdpmModel(config as DdpmConfig, seed) as unknown as FamilyModel;
    case "stylegan2":
      return new StyleGan2Model(config as StyleGan2Config, seed) as unknown as FamilyModel;
    case "spade2stage":
      return new SpadeTwoStageModel(config as SpadeConfig, seed) as unknown as FamilyModel;
    default:
      throw new InvalidInput(`generator family "${config.family}" has no implementation here`);
  }
}

/** Rebuilds a model from a saved state (its own config and seed), then loads weights, moments and Rng. */
export function familyFromState(state: FamilyState): FamilyModel {
  const model = createFamilyModel(state.config, state.seed);
  model.loadState(state);
  return model;
}
