// A discriminator block's tail, avgPool2x2(leakyRelu(x + bias)), as one op so that the webgpu backend (issue 15: 4
// dispatches forward and backward instead of 8 per block) and the native cpu kernels (issue 18: one pass over x each
// way) run it as one fused kernel each way. Elsewhere it is the two ops. First-order gradients only (biasLeakyRelu's):
// networks under a gradient penalty keep layers' leakyRelu.
import { tf } from "../backend/tf.js";
import { biasLeakyReluPool2x2WebGpu } from "../kernels/webgpu/bias-leaky.js";
import { biasLeakyRelu, biasLeakyReluPool2x2Native } from "../native/bias-act.js";
import { avgPool2x2 } from "./ops.js";

/** avgPool2x2(leakyRelu(x + bias, alpha)), x [B,H,W,C], H and W even, alpha in (0, 1]. */
export function biasLeakyReluAvgPool2x2(x: tf.Tensor4D, bias: tf.Tensor1D, alpha: number): tf.Tensor4D {
  return (
    biasLeakyReluPool2x2WebGpu(x, bias, alpha) ??
    biasLeakyReluPool2x2Native(x, bias, alpha) ??
    tf.tidy(() => avgPool2x2(biasLeakyRelu(x, bias, alpha)))
  );
}
