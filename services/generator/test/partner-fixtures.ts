// Test fixtures of the partner flow: slices that look like the dataset format (4 MR channels of textured brain
// ellipse, mask at 0/51/102/204 with ED around a core of NCR + ET) drawn from a seeded stream, a fake sampler
// serving them as an "ensemble", and a helper that makes a tokens file.
import type { EnsembleInfo, PartnerSampleBatch, PartnerSampler, RealSlices } from "../src/partner/domain/ports.js";
import { NotFound } from "@synthmri/platform";

export const SIZE = 32;
export const CHANNELS = 5;

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type SliceKind = "valid" | "outside-brain" | "bad-label" | "floating-core";

/** One slice (uint8 HWC) from `seed`. */
export function makeSlice(seed: number, kind: SliceKind = "valid", size = SIZE): Uint8Array {
  const r = mulberry32(seed * 7919 + 13);
  const out = new Uint8Array(size * size * CHANNELS);
  const cx = size / 2 + (r() - 0.5) * 4;
  const cy = size / 2 + (r() - 0.5) * 4;
  const rx = size * (0.3 + r() * 0.12);
  const ry = size * (0.3 + r() * 0.12);
  const tx = cx + (r() - 0.5) * rx * 0.6;
  const ty = cy + (r() - 0.5) * ry * 0.6;
  const edR = 3 + r() * 3;
  const coreR = edR * 0.55;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * CHANNELS;
      const inBrain = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
      if (inBrain) for (let c = 0; c < 4; c++) out[o + c] = 40 + Math.floor(r() * 200);
      const d = Math.hypot(x - tx, y - ty);
      let label = 0;
      if (inBrain && d <= edR) label = d <= coreR * 0.5 ? 1 : d <= coreR ? 3 : 2;
      out[o + 4] = [0, 51, 102, 204][label];
    }
  }
  if (kind === "outside-brain") {
    out[4] = 102; // pixel (0,0) is outside the ellipse: tumour where every sequence is zero
  } else if (kind === "bad-label") {
    out[(Math.floor(cy) * size + Math.floor(cx)) * CHANNELS + 4] = 77;
  } else if (kind === "floating-core") {
    // Replace the oedema by background: the core then borders healthy tissue everywhere.
    for (let p = 0; p < size * size; p++) if (out[p * CHANNELS + 4] === 102) out[p * CHANNELS + 4] = 0;
  }
  return out;
}

export function realSlices(n: number, seedBase = 100_000, size = SIZE): RealSlices {
  const per = size * size * CHANNELS;
  const data = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) data.set(makeSlice(seedBase + i, "valid", size), i * per);
  return { n, h: size, w: size, c: CHANNELS, data };
}

export interface FakeSamplerOptions {
  ensembleId?: string;
  /** More trained ensembles (same images), listed after ensembleId (ListGenerators scoping). */
  otherEnsembles?: string[];
  /** kind of the latent index (default: every 5th is outside-brain, rest valid). */
  kindOf?: (index: number) => SliceKind;
  /** Replace the slice at these latent indices (of seed round 0 onwards) by these bytes (e.g. a real slice). */
  inject?: Map<number, Uint8Array>;
  real?: RealSlices;
}

export class FakeSampler implements PartnerSampler {
  readonly ensembleId: string;
  readonly real: RealSlices;
  constructor(private readonly opts: FakeSamplerOptions = {}) {
    this.ensembleId = opts.ensembleId ?? "ens-test";
    this.real = opts.real ?? realSlices(40);
  }

  async listEnsembles(): Promise<string[]> {
    return [this.ensembleId, ...(this.opts.otherEnsembles ?? [])];
  }

  async describe(id: string): Promise<EnsembleInfo> {
    if (!(await this.listEnsembles()).includes(id)) throw new NotFound(`ensemble or GAN "${id}" not found`);
    return {
      ensembleId: id,
      datasetId: "ds-real",
      resolution: SIZE,
      members: [
        { index: 0, ganId: `${id}-m0`, checkpointKimg: 1.5, swd: 12.5 },
        { index: 1, ganId: `${id}-m1`, checkpointKimg: 1.5, swd: 14.5 },
      ],
      name: `${id} (fake)`,
      family: "progan",
      createdAt: "2026-11-30T10:00:00.000Z",
      training: { subjects: 8, slices: this.real.n },
    };
  }

  async *sample(id: string, count: number, seed: number): AsyncGenerator<PartnerSampleBatch> {
    await this.describe(id);
    const per = SIZE * SIZE * CHANNELS;
    const kindOf = this.opts.kindOf ?? ((i: number) => (i % 5 === 4 ? "outside-brain" : "valid"));
    for (let start = 0; start < count; start += 8) {
      const n = Math.min(8, count - start);
      const data = new Uint8Array(n * per);
      const origins = [];
      for (let j = 0; j < n; j++) {
        const index = start + j;
        const member = index % 2;
        const injected = this.opts.inject?.get(index);
        data.set(injected ?? makeSlice(seed * 1_000 + index, kindOf(index)), j * per);
        origins.push({ ensembleId: id, member, ganId: `${id}-m${member}`, checkpointKimg: 1.5, seed, index });
      }
      yield { count: n, size: SIZE, channels: CHANNELS, data, origins };
    }
  }

  async realTrainSlices(datasetId: string): Promise<RealSlices> {
    if (datasetId !== "ds-real") throw new NotFound(`dataset ${datasetId} not found`);
    return this.real;
  }
}
