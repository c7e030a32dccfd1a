// The single tfjs namespace the whole product uses. `@tensorflow/tfjs` (the union package) is what
// tfjs-node and tfjs-node-gpu also build on, so there is exactly one tfjs-core engine whichever backend
// the resolver picks; it also registers the gradients and chained ops that bare tfjs-core leaves out.
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

// Production mode: no per-op debug checks, and no "install tfjs-node" banner on stdout at first use.
tf.enableProdMode();

// Until initBackend picks one, make the always-synchronous cpu backend current: with wasm registered
// (higher priority) tfjs would otherwise refuse synchronous ops before an `await tf.ready()`.
void tf.setBackend("cpu");

export { tf };
