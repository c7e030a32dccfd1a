// Adam with moments the checkpoint can carry (tfjs' AdamOptimizer keeps them private and its bias correction
// is global). Per-variable step counts: under progressive growing, a block's variables join training later,
// and their bias correction must start at their own first step.
import type { NamedArray, Params } from "./params.js";
import { tf } from "./tf.js";

export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

interface Slot {
  m: tf.Variable;
  v: tf.Variable;
  step: number;
}

export interface AdamState {
  steps: Record<string, number>;
  moments: NamedArray[];
}

export class Adam {
  private readonly slots = new Map<string, Slot>();
  private readonly nameOf = new Map<tf.Variable, string>();

  constructor(
    readonly config: AdamConfig,
    private readonly params: Params,
  ) {
    for (const a of params.toArrays()) {
      const v = params.get(a.name);
      this.nameOf.set(v, a.name);
      const zeros = tf.zeros(v.shape);
      // tf.variable shares the initial value's data; the zeros tensor itself must still be freed.
      this.slots.set(a.name, { m: tf.variable(zeros, false), v: tf.variable(zeros, false), step: 0 });
      zeros.dispose();
    }
  }

  /** Applies grads keyed by tfjs variable name (as `tf.variableGrads` returns them) and disposes them. */
  apply(grads: Record<string, tf.Tensor>): void {
    const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = this.config;
    for (const variable of this.params.list()) {
      const g = grads[variable.name];
      if (!g) continue;
      const slot = this.slots.get(this.nameOf.get(variable) as string) as Slot;
      slot.step += 1;
      const t = slot.step;
      tf.tidy(() => {
        const m = slot.m.mul(b1).add(g.mul(1 - b1));
        const v = slot.v.mul(b2).add(g.square().mul(1 - b2));
        slot.m.assign(m);
        slot.v.assign(v);
        const mHat = m.div(1 - b1 ** t);
        const vHat = v.div(1 - b2 ** t);
        variable.assign(variable.sub(mHat.mul(lr).div(vHat.sqrt().add(eps))));
      });
    }
    for (const g of Object.values(grads)) g.dispose();
  }

  /** The moment variables (for an asynchronous download before `state`). */
  variables(): tf.Variable[] {
    return [...this.slots.values()].flatMap((s) => [s.m, s.v]);
  }

  state(): AdamState {
    const steps: Record<string, number> = {};
    const moments: NamedArray[] = [];
    for (const [name, s] of this.slots) {
      steps[name] = s.step;
      moments.push({ name: `${name}/m`, shape: [...s.m.shape], data: new Float32Array(s.m.dataSync()) });
      moments.push({ name: `${name}/v`, shape: [...s.v.shape], data: new Float32Array(s.v.dataSync()) });
    }
    return { steps, moments };
  }

  loadState(state: AdamState): void {
    const byName = new Map(state.moments.map((a) => [a.name, a]));
    for (const [name, s] of this.slots) {
      const m = byName.get(`${name}/m`);
      const v = byName.get(`${name}/v`);
      if (!m || !v) throw new Error(`optimizer state lacks the moments of ${name}`);
      s.step = state.steps[name] ?? 0;
      for (const [dst, src] of [
        [s.m, m],
        [s.v, v],
      ] as const) {
        const t = tf.tensor(src.data, src.shape);
        dst.assign(t);
        t.dispose();
      }
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}
