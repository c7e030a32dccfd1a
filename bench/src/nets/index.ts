export * from "./bench-gan.js";
export * from "./bench-unet.js";
export * from "./protocol.js";
