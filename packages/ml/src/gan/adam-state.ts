// The GAN checkpoint's optimizer form (GanState v1, unchanged since the GAN had an Adam of its own): moments as
// named arrays `<param>/m` and `<param>/v` for every parameter, and per-parameter step counts. Converted to and
// from the slots of layers/' one optimizer implementation (`<param>#0`, `<param>#1`), so checkpoints written
// before and after the switch load alike and resume exactly.
import { InvalidInput } from "@synthmri/core";
import type { Optimizer } from "../layers/optimizers.js";
import type { ParamStore } from "../layers/param-store.js";
import type { NamedArray } from "../layers/tensor-blob.js";

export interface AdamState {
  steps: Record<string, number>;
  moments: NamedArray[];
}

const MOMENTS = ["m", "v"] as const;

/** The v1 form of `opt`'s state over `store`: every parameter, zero moments for those not updated yet. */
export function adamStateOf(opt: Optimizer, store: ParamStore): AdamState {
  const { steps, slots } = opt.getSlots();
  const byName = new Map(slots.map((a) => [a.name, a]));
  const out: AdamState = { steps: {}, moments: [] };
  for (const name of store.names()) {
    const p = store.get(name);
    out.steps[name] = steps[name] ?? 0;
    MOMENTS.forEach((m, i) => {
      const slot = byName.get(`${name}#${i}`);
      out.moments.push({ name: `${name}/${m}`, shape: [...p.shape], data: slot?.data ?? new Float32Array(p.size) });
    });
  }
  return out;
}

/** Loads a v1 state into `opt`; `applied` is the number of `apply` calls so far (the model's step count). */
export function loadAdamState(opt: Optimizer, store: ParamStore, state: AdamState, applied: number): void {
  const byName = new Map(state.moments.map((a) => [a.name, a]));
  const steps: Record<string, number> = {};
  const slots: NamedArray[] = [];
  for (const name of store.names()) {
    const shape = store.get(name).shape.join("x");
    const [m, v] = MOMENTS.map((k) => byName.get(`${name}/${k}`));
    if (!m || !v) throw new InvalidInput(`optimizer state lacks the moments of ${name}`);
    if (m.shape.join("x") !== shape || v.shape.join("x") !== shape)
      throw new InvalidInput(`optimizer moments of ${name} do not have the parameter's shape [${shape}]`);
    const step = state.steps[name] ?? 0;
    // Never updated: its moments are zero, as the slots its first update creates.
    if (step === 0) continue;
    steps[name] = step;
    slots.push({ ...m, name: `${name}#0` }, { ...v, name: `${name}#1` });
  }
  opt.setSlots({ kind: "adam", step: applied, lr: opt.lr, steps, slots });
}
