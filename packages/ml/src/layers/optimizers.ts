// Optimizers with explicit, serialisable state so a resumed training job continues bit-for-bit. The one optimizer
// implementation of the product: U-Net training, the GANs and the bench nets all use it.
// Gradients and slots are keyed by ParamStore parameter names; `apply` disposes the gradients it is given.
// Step counts are per parameter: a parameter that gets no gradient in a step (a PGAN block that has not joined
// training yet) keeps its count, so its Adam bias correction starts at its own first update.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import { adamWebGpu, flushWebGpuUpdates, sgdNesterovWebGpu } from "../kernels/webgpu/optimizer.js";
import { loadNativeAddon, type NativeAddon, nativeKernelsActive } from "../native/index.js";
import type { ParamStore } from "./param-store.js";
import { type BlobIndex, decodeBlob, encodeBlob, type NamedArray } from "./tensor-blob.js";

export type OptimizerKind = "sgd-nesterov" | "adam";

/** Serialisable optimizer state: the slots as one float32 blob (see tensor-blob.ts) plus counters. */
export interface OptimizerState {
  kind: OptimizerKind;
  /** `apply` calls so far. */
  step: number;
  lr: number;
  /**
   * Updates applied to each parameter that has slots. Absent in states written before per-parameter counts
   * existed (U-Net training, where every parameter is updated every step): each slot then takes `step`.
   */
  steps?: Record<string, number>;
  index: BlobIndex;
  data: Uint8Array;
}

/** The same state with the slots as named arrays (`<parameter>#<slot index>`), for formats that store arrays. */
export interface OptimizerSlots {
  kind: OptimizerKind;
  step: number;
  lr: number;
  steps: Record<string, number>;
  slots: NamedArray[];
}

export interface Optimizer {
  readonly kind: OptimizerKind;
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  /** `apply` calls so far. */
  readonly step: number;
  /** Updates applied to one parameter so far (0 before its first gradient). */
  stepOf(name: string): number;
  /**
   * Updates the store's parameters in place from `grads` (keyed by parameter name) and disposes `grads`. With `more`
   * (a second contribution, e.g. a discriminator's fake pass differentiated apart from its real pass), the gradient
   * of a parameter is the sum of the two: on webgpu the update kernel reads both (no Add per parameter), elsewhere
   * they are added first; `more` is disposed too.
   */
  apply(store: ParamStore, grads: Record<string, tf.Tensor>, more?: Record<string, tf.Tensor>): void;
  /** The slot variables (for an asynchronous download before a synchronous `getState` on webgpu). */
  variables(): tf.Variable[];
  getState(): OptimizerState;
  setState(state: OptimizerState): void;
  getSlots(): OptimizerSlots;
  setSlots(state: OptimizerSlots): void;
  dispose(): void;
}

type CpuData = { data: { get(dataId: object): { values?: unknown; refCount?: number } | undefined } };

/**
 * The addon when parameter updates can run natively: cpu backend with the native kernels registered. The JS graph
 * of an update is ~10 small ops per parameter, each allocating a new array; the native update is one pass in place.
 */
function nativeUpdater(): NativeAddon | null {
  if (tf.getBackend() !== "cpu" || !nativeKernelsActive()) return null;
  return loadNativeAddon();
}

/**
 * The float32 array behind `t` on the cpu backend; with `owned`, only when no other tensor shares it (a reshape or
 * clone would see an in-place update), so that writing into it is the same as `assign`.
 */
function cpuValues(t: tf.Tensor, owned: boolean): Float32Array | null {
  if (t.dtype !== "float32") return null;
  const entry = (tf.backend() as unknown as CpuData).data.get(t.dataId);
  if (entry == null || !(entry.values instanceof Float32Array)) return null;
  if (owned && entry.refCount !== 1) return null;
  return entry.values.length === t.size ? entry.values : null;
}

/** Arrays of the parameter and its slots (owned) and of the gradient, or null if any is not updatable in place. */
function inPlaceArrays(
  p: tf.Variable,
  g: tf.Tensor,
  slots: tf.Variable[],
): { p: Float32Array; g: Float32Array; slots: Float32Array[] } | null {
  const pv = cpuValues(p, true);
  const gv = cpuValues(g, false);
  if (pv == null || gv == null || gv.length !== pv.length) return null;
  const sv: Float32Array[] = [];
  for (const s of slots) {
    const v = cpuValues(s, true);
    if (v == null || v.length !== pv.length || v === pv || v === gv) return null;
    sv.push(v);
  }
  return { p: pv, g: gv, slots: sv };
}

/** A gradient, or two contributions whose sum is the gradient. */
type Gradient = tf.Tensor | [tf.Tensor, tf.Tensor];

interface Slot {
  /** Velocity (SGD) or first and second moments (Adam). */
  vars: tf.Variable[];
  /** Updates applied to this slot's parameter. */
  step: number;
}

abstract class SlotOptimizer implements Optimizer {
  abstract readonly kind: OptimizerKind;
  lr: number;
  step = 0;
  /** Per parameter name; created with zeros at the parameter's first gradient. */
  protected readonly slots = new Map<string, Slot>();
  protected abstract readonly slotCount: number;

  constructor(lr: number) {
    this.lr = lr;
  }

  protected slotFor(name: string, like: tf.Tensor): Slot {
    let s = this.slots.get(name);
    if (!s) {
      const vars: tf.Variable[] = [];
      for (let i = 0; i < this.slotCount; i++) vars.push(tf.tidy(() => tf.variable(tf.zerosLike(like), false)));
      s = { vars, step: 0 };
      this.slots.set(name, s);
    }
    return s;
  }

  /** One update of `p`; `t` is the parameter's own step count, this update included. */
  protected abstract update(p: tf.Variable, g: tf.Tensor, slots: tf.Variable[], t: number): void;
  /** The same update as one webgpu dispatch, in place; false when not on webgpu or not updatable in place. */
  protected abstract updateWebGpu(p: tf.Variable, g: Gradient, slots: tf.Variable[], t: number): boolean;
  /** The same update in one native call, in place; false when the arrays cannot be updated in place. */
  protected abstract updateNative(
    addon: NativeAddon,
    p: tf.Variable,
    g: tf.Tensor,
    slots: tf.Variable[],
    t: number,
  ): boolean;

  stepOf(name: string): number {
    return this.slots.get(name)?.step ?? 0;
  }

  apply(store: ParamStore, grads: Record<string, tf.Tensor>, more: Record<string, tf.Tensor> = {}): void {
    this.step++;
    const addon = nativeUpdater();
    const sums: tf.Tensor[] = [];
    try {
      for (const name of new Set([...Object.keys(grads), ...Object.keys(more)])) {
        const [g1, g2] = [grads[name], more[name]];
        const p = store.get(name);
        const s = this.slotFor(name, p);
        s.step++;
        if (g1 && g2 && this.updateWebGpu(p, [g1, g2], s.vars, s.step)) continue;
        let g = g1 ?? g2;
        if (g1 && g2) {
          g = tf.add(g1, g2);
          sums.push(g);
        }
        if (addon && this.updateNative(addon, p, g, s.vars, s.step)) continue;
        if (this.updateWebGpu(p, g, s.vars, s.step)) continue;
        tf.tidy(() => this.update(p, g, s.vars, s.step));
      }
    } finally {
      flushWebGpuUpdates(); // webgpu updates are recorded in groups: all before their gradients go
      tf.dispose([...Object.values(grads), ...Object.values(more), ...sums]);
    }
  }

  variables(): tf.Variable[] {
    return [...this.slots.values()].flatMap((s) => s.vars);
  }

  getSlots(): OptimizerSlots {
    const slots: NamedArray[] = [];
    const steps: Record<string, number> = {};
    for (const [name, s] of this.slots) {
      steps[name] = s.step;
      s.vars.forEach((v, i) => {
        slots.push({ name: `${name}#${i}`, shape: [...v.shape], data: (v.dataSync() as Float32Array).slice() });
      });
    }
    return { kind: this.kind, step: this.step, lr: this.lr, steps, slots };
  }

  getState(): OptimizerState {
    const { slots, ...rest } = this.getSlots();
    return { ...rest, ...encodeBlob(slots) };
  }

  setSlots(state: OptimizerSlots): void {
    if (state.kind !== this.kind)
      throw new InvalidInput(`optimizer state is for ${state.kind}, this optimizer is ${this.kind}`);
    const grouped = new Map<string, NamedArray[]>();
    for (const e of state.slots) {
      const cut = e.name.lastIndexOf("#");
      const name = e.name.slice(0, cut);
      const i = Number(e.name.slice(cut + 1));
      if (cut < 0 || !(Number.isInteger(i) && i >= 0 && i < this.slotCount))
        throw new InvalidInput(`optimizer state has a bad slot name ${e.name}`);
      const list = grouped.get(name) ?? [];
      list[i] = e;
      grouped.set(name, list);
    }
    for (const [name, list] of grouped) {
      if (list.filter(Boolean).length !== this.slotCount)
        throw new InvalidInput(`optimizer state has ${list.length} of the ${this.slotCount} slots of ${name}`);
    }
    this.disposeSlots();
    for (const [name, list] of grouped) {
      const vars = list.map((e) => tf.tidy(() => tf.variable(tf.tensor(e.data, e.shape, "float32"), false)));
      this.slots.set(name, { vars, step: state.steps[name] ?? state.step });
    }
    this.step = state.step;
    this.lr = state.lr;
  }

  setState(state: OptimizerState): void {
    this.setSlots({
      kind: state.kind,
      step: state.step,
      lr: state.lr,
      // States without per-parameter counts: every parameter was updated at every step.
      steps: state.steps ?? {},
      slots: decodeBlob(state.index, state.data),
    });
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) for (const v of s.vars) v.dispose();
    this.slots.clear();
  }

  dispose(): void {
    this.disposeSlots();
  }
}

/**
 * SGD with Nesterov momentum and L2 weight decay added to the gradient (nnU-Net; shared/peers/SPEC.md):
 * g <- g + wd*p; v <- m*v + g; p <- p - lr*(g + m*v). Same as tf.train.momentum(lr, m, true) on g + wd*p.
 */
class SgdNesterov extends SlotOptimizer {
  readonly kind = "sgd-nesterov" as const;
  protected readonly slotCount = 1;
  constructor(
    lr: number,
    private readonly momentum: number,
    private readonly weightDecay: number,
  ) {
    super(lr);
  }
  protected update(p: tf.Variable, g0: tf.Tensor, [v]: tf.Variable[]): void {
    const g = this.weightDecay ? tf.add(g0, tf.mul(p, this.weightDecay)) : g0;
    const vNew = tf.add(tf.mul(v, this.momentum), g);
    v.assign(vNew);
    p.assign(tf.sub(p, tf.mul(tf.add(g, tf.mul(vNew, this.momentum)), this.lr)));
  }
  protected updateWebGpu(p: tf.Variable, g: Gradient, [v]: tf.Variable[]): boolean {
    return sgdNesterovWebGpu(p, g, v, this.lr, this.momentum, this.weightDecay);
  }
  protected updateNative(addon: NativeAddon, p: tf.Variable, g: tf.Tensor, slots: tf.Variable[]): boolean {
    const a = inPlaceArrays(p, g, slots);
    if (a == null) return false;
    // Scalars rounded to float32, as the scalar tensors of the op graph are.
    addon.sgdNesterov(a.p, a.g, a.slots[0], Float32Array.of(this.lr, this.momentum, this.weightDecay));
    return true;
  }
}

/** Adam with bias-corrected moments (per-parameter step t): p <- p - lr * m^ / (sqrt(v^) + eps). */
class Adam extends SlotOptimizer {
  readonly kind = "adam" as const;
  protected readonly slotCount = 2;
  constructor(
    lr: number,
    private readonly beta1: number,
    private readonly beta2: number,
    private readonly eps: number,
  ) {
    super(lr);
  }
  protected update(p: tf.Variable, g: tf.Tensor, [m, v]: tf.Variable[], t: number): void {
    const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    m.assign(mNew);
    v.assign(vNew);
    const c1 = 1 - this.beta1 ** t;
    const c2 = 1 - this.beta2 ** t;
    const mHat = tf.div(mNew, c1);
    const vHat = tf.div(vNew, c2);
    p.assign(tf.sub(p, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.eps)), this.lr)));
  }
  protected updateWebGpu(p: tf.Variable, g: Gradient, [m, v]: tf.Variable[], t: number): boolean {
    const { lr, beta1, beta2, eps } = this;
    return adamWebGpu(p, g, m, v, { lr, beta1, beta2, eps, c1: 1 - beta1 ** t, c2: 1 - beta2 ** t });
  }
  protected updateNative(addon: NativeAddon, p: tf.Variable, g: tf.Tensor, slots: tf.Variable[], t: number): boolean {
    const a = inPlaceArrays(p, g, slots);
    if (a == null) return false;
    const scalars = Float32Array.of(
      this.lr,
      this.beta1,
      1 - this.beta1,
      this.beta2,
      1 - this.beta2,
      1 - this.beta1 ** t,
      1 - this.beta2 ** t,
      this.eps,
    );
    addon.adam(a.p, a.g, a.slots[0], a.slots[1], scalars);
    return true;
  }
}

export function sgdNesterov(opts: { lr: number; momentum?: number; weightDecay?: number }): Optimizer {
  return new SgdNesterov(opts.lr, opts.momentum ?? 0.99, opts.weightDecay ?? 3e-5);
}

export function adam(opts: { lr: number; beta1?: number; beta2?: number; eps?: number }): Optimizer {
  return new Adam(opts.lr, opts.beta1 ?? 0.9, opts.beta2 ?? 0.999, opts.eps ?? 1e-8);
}

/** nnU-Net poly schedule: lr = base * (1 - epoch/maxEpochs)^exponent. */
export function polyLr(base: number, epoch: number, maxEpochs: number, exponent = 0.9): number {
  return base * Math.max(0, 1 - epoch / maxEpochs) ** exponent;
}
