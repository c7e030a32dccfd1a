export * from "./descriptive.js";
export * from "./permutation.js";
