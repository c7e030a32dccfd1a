// Generator families beyond PGAN (issues 21, 22): DDPM, StyleGAN2 joint image+segmentation, SPADE two-stage.
export * from "./create.js";
export * from "./ddpm/config.js";
export { DdpmModel } from "./ddpm/model.js";
export { alphaBars, ddimTimesteps } from "./ddpm/schedule.js";
export * from "./model.js";
export * from "./spade/config.js";
export { SpadeTwoStageModel, tissueLevel } from "./spade/model.js";
export * from "./stylegan2/config.js";
export { StyleGan2Model } from "./stylegan2/model.js";
export { modulatedConv } from "./stylegan2/networks.js";
export * from "./train.js";
export * from "./spade/label-filter.js";
