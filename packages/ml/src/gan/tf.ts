// The GAN code's tfjs namespace: the product's single one (backend/tf.ts), re-exported so gan/ files have
// one import site.
export { tf } from "../backend/tf.js";
