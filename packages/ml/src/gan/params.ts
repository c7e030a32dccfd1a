// Named trainable variables with seeded init, plus a serialisable form. A minimal local store: the shared
// `layers/ParamStore` had not landed when this was written; swap when it does (same role, same state shape).
import { InvalidInput } from "@synthmri/core";
import type { Rng } from "../random/index.js";
import { tf } from "./tf.js";

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export class Params {
  private readonly vars = new Map<string, tf.Variable>();

  constructor(
    private readonly rng: Rng,
    private readonly prefix: string,
  ) {}

  /** A variable drawn from N(0, std^2) with the store's Rng (reproducible, unlike tfjs' seeded ops). */
  normal(name: string, shape: number[], std = 1): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = this.rng.fillNormal(new Float32Array(n), 0, std);
    return this.add(name, tf.tensor(data, shape));
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.zeros(shape));
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`parameter ${this.prefix}/${name} does not exist`);
    return v;
  }

  /** Name and variable of every parameter, in creation order. */
  entries(): [string, tf.Variable][] {
    return [...this.vars.entries()];
  }

  list(): tf.Variable[] {
    return [...this.vars.values()];
  }

  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  toArrays(): NamedArray[] {
    return [...this.vars.entries()].map(([name, v]) => ({
      name,
      shape: [...v.shape],
      data: new Float32Array(v.dataSync()),
    }));
  }

  load(arrays: NamedArray[]): void {
    const byName = new Map(arrays.map((a) => [a.name, a]));
    for (const [name, v] of this.vars) {
      const a = byName.get(name);
      if (!a)
        throw new InvalidInput(
          `checkpoint has no parameter ${this.prefix}/${name}: it was written by another architecture`,
        );
      if (a.shape.join("x") !== v.shape.join("x")) {
        throw new InvalidInput(
          `checkpoint parameter ${this.prefix}/${name} has shape [${a.shape}], the model needs [${v.shape}]`,
        );
      }
      const t = tf.tensor(a.data, a.shape);
      v.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }

  private add(name: string, init: tf.Tensor): tf.Variable {
    if (this.vars.has(name)) throw new Error(`parameter ${this.prefix}/${name} defined twice`);
    // Globally unique tfjs variable names, so two models can live in one process.
    const v = tf.variable(init, true, `${this.prefix}/${name}#${uid++}`);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }
}

let uid = 0;
