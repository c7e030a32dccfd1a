// Noise schedules as cumulative products alpha-bar_t, t = 0..T-1 (x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps).
import type { NoiseSchedule } from "./config.js";

/**
 * Cosine (Nichol & Dhariwal 2021): abar(t) = f(t) / f(0), f(t) = cos(((t/T + s) / (1 + s)) pi/2)^2, s = 0.008,
 * per-step betas clipped at 0.999. Linear (Ho et al. 2020): betas 1e-4 .. 0.02 scaled to T = 1000.
 */
export function alphaBars(schedule: NoiseSchedule, T: number): Float64Array {
  const betas = new Float64Array(T);
  if (schedule === "cosine") {
    const s = 0.008;
    const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  } else {
    const scale = 1000 / T;
    for (let t = 0; t < T; t++) betas[t] = scale * 1e-4 + ((scale * 0.02 - scale * 1e-4) * t) / Math.max(1, T - 1);
  }
  const out = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    prod *= 1 - betas[t];
    out[t] = prod;
  }
  return out;
}

/** DDIM's timestep subsequence, descending: `steps` evenly spaced values of 0..T-1 ending at 0. */
export function ddimTimesteps(T: number, steps: number): number[] {
  const out: number[] = [];
  for (let i = steps - 1; i >= 0; i--) out.push(Math.floor((i * T) / steps));
  return out;
}
