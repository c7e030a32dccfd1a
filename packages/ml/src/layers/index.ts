export * from "./bias-leaky-pool.js";
export * from "./ops.js";
export * from "./optimizers.js";
export * from "./param-store.js";
export * from "./tensor-blob.js";
