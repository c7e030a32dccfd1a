// Parameters defined where they are used: a network's forward pass asks its Scope for `param(name, shape, init)`.
// The first (building) pass creates each parameter in the ParamStore with its seeded init; later passes get it.
// A read-only scope over a second store (EMA weights) serves the same forward pass without creating anything.
// This keeps one description of each architecture instead of a parameter list that must mirror the forward code.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import type { Init, ParamStore } from "../layers/param-store.js";

export class Scope {
  constructor(
    private readonly store: ParamStore,
    /** Whether unknown names create parameters (the building pass) or are an error. */
    private readonly create: boolean,
    private readonly prefix = "",
  ) {}

  /** The parameter `prefix + name`, created with `init` on the building pass. */
  param(name: string, shape: number[], init: Init): tf.Tensor {
    const full = this.prefix + name;
    if (this.store.has(full)) {
      const v = this.store.get(full);
      if (v.shape.join("x") !== shape.join("x"))
        throw new InvalidInput(`parameter ${full} has shape [${v.shape}], the network asks for [${shape}]`);
      return v;
    }
    if (!this.create) throw new InvalidInput(`parameter ${full} does not exist in this (read-only) weight set`);
    return this.store.add(full, shape, init);
  }

  /** A scope whose names start with `prefix + sub + "."`. */
  sub(sub: string): Scope {
    return new Scope(this.store, this.create, `${this.prefix}${sub}.`);
  }
}

/** EMA store: a non-trainable copy of every parameter of `source` (same names, same order). */
export function emaCopy(source: ParamStore, target: ParamStore): void {
  for (const name of source.names()) {
    const v = source.get(name);
    const e = target.add(name, v.shape, { kind: "zeros" }, false);
    e.assign(v);
  }
}

/** ema <- decay * ema + (1 - decay) * param, for every parameter of `source`. */
export function emaUpdate(source: ParamStore, ema: ParamStore, decay: number): void {
  for (const name of source.names()) {
    const p = source.get(name);
    const e = ema.get(name);
    tf.tidy(() => e.assign(tf.add(tf.mul(e, decay), tf.mul(p, 1 - decay))));
  }
}
