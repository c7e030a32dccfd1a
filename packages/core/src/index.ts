export * from "./errors.js";
export * from "./logger-types.js";
export * from "./mask-encoding.js";
