// nnU-Net-style 2-D U-Net for BraTS slices: model, loss, training loop, inference (issue 6, domain side).
export * from "./config.js";
export * from "./data.js";
export * from "./inference.js";
export * from "./loss.js";
export * from "./model.js";
export * from "./sampler.js";
export { loadUNet, loadUNetWeightsInto, saveUNet } from "./serialize.js";
export * from "./train.js";
export * from "./train-config.js";
export * from "./train-state.js";
export * from "./validation.js";
export * from "./patch.js";
export { exportUNetToOnnx, ONNX_OPSET, type OnnxExportOptions } from "./onnx.js";
