// Optimizers with explicit, serialisable state so a resumed training job continues bit-for-bit.
// Gradients and slots are keyed by ParamStore parameter names; `apply` disposes the gradients it is given.
import { InvalidInput } from "@synthmri/core";
import { tf } from "../backend/tf.js";
import { loadNativeAddon, type NativeAddon, nativeKernelsActive } from "../native/index.js";
import type { ParamStore } from "./param-store.js";
import { type BlobIndex, decodeBlob, encodeBlob } from "./tensor-blob.js";

export interface OptimizerState {
  kind: "sgd-nesterov" | "adam";
  step: number;
  lr: number;
  index: BlobIndex;
  data: Uint8Array;
}

export interface Optimizer {
  readonly kind: OptimizerState["kind"];
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  /** Steps applied so far. */
  readonly step: number;
  /** Updates the store's parameters in place from `grads` (keyed by parameter name) and disposes `grads`. */
  apply(store: ParamStore, grads: Record<string, tf.Tensor>): void;
  getState(): OptimizerState;
  setState(state: OptimizerState): void;
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

abstract class SlotOptimizer implements Optimizer {
  abstract readonly kind: OptimizerState["kind"];
  lr: number;
  step = 0;
  /** Per parameter name, the slot variables (velocity; or first and second moments). */
  protected readonly slots = new Map<string, tf.Variable[]>();
  protected abstract readonly slotCount: number;

  constructor(lr: number) {
    this.lr = lr;
  }

  protected slotsFor(name: string, like: tf.Tensor): tf.Variable[] {
    let s = this.slots.get(name);
    if (!s) {
      s = [];
      for (let i = 0; i < this.slotCount; i++) s.push(tf.tidy(() => tf.variable(tf.zerosLike(like), false)));
      this.slots.set(name, s);
    }
    return s;
  }

  protected abstract update(p: tf.Variable, g: tf.Tensor, slots: tf.Variable[]): void;
  /** The same update in one native call, in place; false when the arrays cannot be updated in place. */
  protected abstract updateNative(addon: NativeAddon, p: tf.Variable, g: tf.Tensor, slots: tf.Variable[]): boolean;

  apply(store: ParamStore, grads: Record<string, tf.Tensor>): void {
    this.step++;
    const addon = nativeUpdater();
    try {
      for (const [name, g] of Object.entries(grads)) {
        const p = store.get(name);
        const s = this.slotsFor(name, p);
        if (addon && this.updateNative(addon, p, g, s)) continue;
        tf.tidy(() => this.update(p, g, s));
      }
    } finally {
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  getState(): OptimizerState {
    const items = [];
    for (const [name, s] of this.slots) {
      for (let i = 0; i < s.length; i++)
        items.push({ name: `${name}#${i}`, shape: s[i].shape, data: s[i].dataSync() as Float32Array });
    }
    const { index, data } = encodeBlob(items);
    return { kind: this.kind, step: this.step, lr: this.lr, index, data };
  }

  setState(state: OptimizerState): void {
    if (state.kind !== this.kind)
      throw new InvalidInput(`optimizer state is for ${state.kind}, this optimizer is ${this.kind}`);
    this.disposeSlots();
    const grouped = new Map<string, tf.Variable[]>();
    for (const e of decodeBlob(state.index, state.data)) {
      const cut = e.name.lastIndexOf("#");
      const name = e.name.slice(0, cut);
      const i = Number(e.name.slice(cut + 1));
      if (cut < 0 || !(i >= 0 && i < this.slotCount))
        throw new InvalidInput(`optimizer state has a bad slot name ${e.name}`);
      const list = grouped.get(name) ?? [];
      list[i] = tf.tidy(() => tf.variable(tf.tensor(e.data, e.shape, "float32"), false));
      grouped.set(name, list);
    }
    for (const [name, list] of grouped) this.slots.set(name, list);
    this.step = state.step;
    this.lr = state.lr;
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) for (const v of s) v.dispose();
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
  protected updateNative(addon: NativeAddon, p: tf.Variable, g: tf.Tensor, slots: tf.Variable[]): boolean {
    const a = inPlaceArrays(p, g, slots);
    if (a == null) return false;
    // Scalars rounded to float32, as the scalar tensors of the op graph are.
    addon.sgdNesterov(a.p, a.g, a.slots[0], Float32Array.of(this.lr, this.momentum, this.weightDecay));
    return true;
  }
}

/** Adam with bias-corrected moments: p <- p - lr * m^ / (sqrt(v^) + eps). */
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
  protected update(p: tf.Variable, g: tf.Tensor, [m, v]: tf.Variable[]): void {
    const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    m.assign(mNew);
    v.assign(vNew);
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    const mHat = tf.div(mNew, c1);
    const vHat = tf.div(vNew, c2);
    p.assign(tf.sub(p, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.eps)), this.lr)));
  }
  protected updateNative(addon: NativeAddon, p: tf.Variable, g: tf.Tensor, slots: tf.Variable[]): boolean {
    const a = inPlaceArrays(p, g, slots);
    if (a == null) return false;
    const scalars = Float32Array.of(
      this.lr,
      this.beta1,
      1 - this.beta1,
      this.beta2,
      1 - this.beta2,
      1 - this.beta1 ** this.step,
      1 - this.beta2 ** this.step,
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
