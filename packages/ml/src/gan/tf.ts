// The tfjs namespace the GAN code uses. Switch to `../backend/tf.js` once the backend area exports it: both are
// `@tensorflow/tfjs`, so there is one tfjs-core engine either way.
import * as tf from "@tensorflow/tfjs";

export { tf };
