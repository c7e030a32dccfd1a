// Public surface of @synthmri/eval: evaluation, not compute. Segmentation metrics (Dice, HD95, ...), statistics
// (descriptive, paired permutation tests), image-set quality (Laplacian SWD, feature Frechet distance,
// memorization), figures (PNG plots and sample grids) and the report that combines them. Depends on @synthmri/ml
// for tfjs and Rng; ml never depends on eval (training takes a QualityFn, e.g. `laplacianSwd`, as a parameter).
export * from "./stats/index.js";
export * from "./metrics/index.js";
export * from "./quality/index.js";
export * from "./figures/index.js";
export * from "./report/index.js";
