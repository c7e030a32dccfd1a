// Named trainable weights with seeded initialisation and byte serialisation. Variables get tfjs'
// auto-generated unique names (two stores may both hold "enc0.conv1.w"); the store maps its own names.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import { Rng } from "../random/index.js";
import { type BlobIndex, decodeBlob, encodeBlob, type NamedArray } from "./tensor-blob.js";

/** How to fill a new parameter. `fanIn` defaults to the product of all but the last dimension. */
export type Init =
  | { kind: "zeros" }
  | { kind: "ones" }
  | { kind: "constant"; value: number }
  /** N(0, std). */
  | { kind: "normal"; std: number }
  /** He/Kaiming normal: N(0, gain / sqrt(fanIn)), gain sqrt(2) by default. */
  | { kind: "he"; fanIn?: number; gain?: number }
  /** U(-bound, bound); PyTorch's default conv/linear init is bound = 1/sqrt(fanIn) for weight and bias. */
  | { kind: "uniform"; bound: number }
  | { kind: "torchDefault"; fanIn?: number };

export function defaultFanIn(shape: number[]): number {
  return shape.length <= 1 ? shape[0] || 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

export class ParamStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly rng: Rng;

  /**
   * `seedOrRng`: a store can share an Rng with others (a GAN's G and D draw from the model's one stream, in
   * definition order). `label` prefixes parameter names in error messages ("G/" tells a GAN's two stores apart).
   */
  constructor(
    seedOrRng: number | Rng = 0,
    private readonly label = "",
  ) {
    this.rng = typeof seedOrRng === "number" ? new Rng(seedOrRng) : seedOrRng;
  }

  /** Creates a trainable variable; names must be unique within the store. */
  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    if (this.vars.has(name)) throw new InvalidInput(`parameter ${this.label}${name} already exists in this store`);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    switch (init.kind) {
      case "zeros":
        break;
      case "ones":
        data.fill(1);
        break;
      case "constant":
        data.fill(init.value);
        break;
      case "normal":
        this.rng.fillNormal(data, 0, init.std);
        break;
      case "he":
        this.rng.fillNormal(data, 0, (init.gain ?? Math.SQRT2) / Math.sqrt(init.fanIn ?? defaultFanIn(shape)));
        break;
      case "uniform":
        this.rng.fillUniform(data, -init.bound, init.bound);
        break;
      case "torchDefault": {
        const b = 1 / Math.sqrt(init.fanIn ?? defaultFanIn(shape));
        this.rng.fillUniform(data, -b, b);
        break;
      }
    }
    const v = tf.tidy(() => tf.variable(tf.tensor(data, shape, "float32"), trainable));
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v)
      throw new InvalidInput(`parameter ${this.label}${name} does not exist (known: ${this.vars.size} parameters)`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  /** Variables in insertion order, optionally only those whose name starts with a prefix. */
  variables(prefix = ""): tf.Variable[] {
    return [...this.vars.entries()].filter(([n]) => n.startsWith(prefix)).map(([, v]) => v);
  }

  /** Number of scalar parameters (optionally under a name prefix). */
  count(prefix = ""): number {
    let n = 0;
    for (const [name, v] of this.vars) if (name.startsWith(prefix)) n += v.size;
    return n;
  }

  /**
   * Loss value and gradients keyed by this store's parameter names. `names` restricts which parameters
   * get gradients (e.g. only G's when D is frozen); default: all trainable ones. The caller disposes
   * `value` and the gradients (an optimizer's `apply` does that for the gradients).
   */
  valueAndGrads(f: () => tf.Scalar, names?: string[]): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
    const chosen = names ?? this.names().filter((n) => this.get(n).trainable);
    const list = chosen.map((n) => this.get(n));
    const { value, grads } = tf.variableGrads(f, list);
    const out: Record<string, tf.Tensor> = {};
    // A parameter the loss does not reach gets no gradient (e.g. a PGAN block above the current level): it is
    // left out, so an optimizer neither updates it nor advances its step count.
    for (const n of chosen) {
      const g = grads[this.get(n).name];
      if (g) out[n] = g;
    }
    return { value, grads: out };
  }

  /** Copies of all weights, by name in insertion order (safe to keep while training updates the variables). */
  toArrays(): NamedArray[] {
    return [...this.vars.entries()].map(([name, v]) => ({
      name,
      shape: [...v.shape],
      data: (v.dataSync() as Float32Array).slice(),
    }));
  }

  /**
   * Loads named weights; every parameter of this store must be present with the same shape (extra entries are
   * ignored). `source` names where they came from in error messages.
   */
  loadArrays(arrays: readonly NamedArray[], source = "weights file"): void {
    const byName = new Map(arrays.map((e) => [e.name, e]));
    for (const [name, v] of this.vars) {
      const e = byName.get(name);
      if (!e)
        throw new InvalidInput(
          `${source} lacks parameter ${this.label}${name}: it was written for another architecture`,
        );
      if (e.shape.join("x") !== v.shape.join("x")) {
        throw new InvalidInput(
          `parameter ${this.label}${name}: ${source} has shape [${e.shape}], model expects [${v.shape}]`,
        );
      }
    }
    for (const [name, v] of this.vars) {
      const e = byName.get(name) as NamedArray;
      tf.tidy(() => v.assign(tf.tensor(e.data, e.shape, "float32")));
    }
  }

  /** All weights as one little-endian float32 blob and its index (insertion order). */
  toBytes(): { index: BlobIndex; data: Uint8Array } {
    return encodeBlob(
      [...this.vars.entries()].map(([name, v]) => ({ name, shape: v.shape, data: v.dataSync() as Float32Array })),
    );
  }

  /** Loads weights saved by `toBytes`; every parameter of this store must be present with the same shape. */
  fromBytes(index: BlobIndex, data: Uint8Array): void {
    this.loadArrays(decodeBlob(index, data));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
