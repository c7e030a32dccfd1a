export * from "./classes.js";
export * from "./edt.js";
export * from "./surface-distance.js";
export * from "./segmentation.js";
export * from "./accumulator.js";
export * from "./intensity-baseline.js";
