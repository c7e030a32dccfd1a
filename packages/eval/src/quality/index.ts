export * from "./image-set.js";
export * from "./laplacian.js";
export * from "./sliced-wasserstein.js";
export * from "./linalg.js";
export * from "./feature-distance.js";
export * from "./memorization.js";
export * from "./gan-swd.js";
export * from "./calibration.js";
