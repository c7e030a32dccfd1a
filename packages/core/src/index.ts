export * from "./bounded-text.js";
export * from "./errors.js";
export * from "./logger-types.js";
export * from "./mask-encoding.js";
export * from "./compute-backend.js";
export * from "./steps.js";
