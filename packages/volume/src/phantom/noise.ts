import type { SeededRandom } from "../random.js";

/**
 * Smooth 3D value noise in about [-1, 1]: random values on a lattice every `cell` voxels,
 * interpolated with a smoothstep. Cheap, seeded and band-limited (no high-frequency speckle).
 */
export class ValueNoise3 {
  private readonly lattice: Float32Array;
  private readonly nx: number;
  private readonly ny: number;
  private readonly nz: number;

  constructor(
    rng: SeededRandom,
    shape: readonly number[],
    private readonly cell: number,
  ) {
    this.nx = Math.ceil(shape[0] / cell) + 2;
    this.ny = Math.ceil(shape[1] / cell) + 2;
    this.nz = Math.ceil(shape[2] / cell) + 2;
    this.lattice = new Float32Array(this.nx * this.ny * this.nz);
    for (let i = 0; i < this.lattice.length; i++) this.lattice[i] = rng.next() * 2 - 1;
  }

  at(x: number, y: number, z: number): number {
    const fx = x / this.cell;
    const fy = y / this.cell;
    const fz = z / this.cell;
    const x0 = Math.floor(fx);
    const y0 = Math.floor(fy);
    const z0 = Math.floor(fz);
    let tx = fx - x0;
    let ty = fy - y0;
    let tz = fz - z0;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    tz = tz * tz * (3 - 2 * tz);
    const L = this.lattice;
    const sx = 1;
    const sy = this.nx;
    const sz = this.nx * this.ny;
    const b = x0 + y0 * sy + z0 * sz;
    const c00 = L[b] + (L[b + sx] - L[b]) * tx;
    const c10 = L[b + sy] + (L[b + sy + sx] - L[b + sy]) * tx;
    const c01 = L[b + sz] + (L[b + sz + sx] - L[b + sz]) * tx;
    const c11 = L[b + sz + sy] + (L[b + sz + sy + sx] - L[b + sz + sy]) * tx;
    const c0 = c00 + (c10 - c00) * ty;
    const c1 = c01 + (c11 - c01) * ty;
    return c0 + (c1 - c0) * tz;
  }
}

/** A table of standard normal draws, indexed by random integers: fast per-voxel noise. */
export function normalTable(rng: SeededRandom, n = 1 << 16): Float32Array {
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) t[i] = rng.normal();
  return t;
}
