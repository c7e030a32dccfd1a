export * from "./errors.js";
export * from "./logger-types.js";
