// The request's GanConfig fields -> a generator-family config (issues 21, 22). The families start from their demo
// sizes (they train on the phantoms on 2 CPU cores); the request's resolution, latent size, feature-map cap and
// learning rate override them. The family's own validation turns a bad combination into INVALID_ARGUMENT.
import {
  defaultGanConfig,
  demoDdpmConfig,
  demoSpadeConfig,
  demoStyleGan2Config,
  type FamilyConfigBase,
  type FamilyName,
  LABEL_CLASSES,
  type MaskEncoding,
  networkChannels,
} from "@synthmri/ml";

export interface FamilyOverrides {
  resolution: number;
  latentDim?: number;
  fmapMax?: number;
  learningRate?: number;
  /** ddpm only: stylegan2 and spade2stage generate one-hot classes of their own. */
  maskEncoding?: MaskEncoding;
}

/** Largest group count of group norm (8, 4, 2 or 1) that divides the channels. */
function groupsFor(channels: number): number {
  return [8, 4, 2, 1].find((g) => channels % g === 0) ?? 1;
}

export function familyConfig(family: FamilyName, o: FamilyOverrides): FamilyConfigBase {
  const resolution = o.resolution;
  switch (family) {
    case "ddpm": {
      // fmap_max caps the noise predictor's base width (its widest level is 2x that).
      const baseChannels = o.fmapMax ? Math.min(o.fmapMax, 16) : 16;
      const mask = o.maskEncoding && o.maskEncoding !== "level" ? { maskEncoding: o.maskEncoding } : {};
      return demoDdpmConfig({
        resolution,
        ...mask,
        latentSize: resolution * networkChannels({ channels: 5, ...mask }) * resolution,
        baseChannels,
        groups: groupsFor(baseChannels),
        ...(o.learningRate ? { learningRate: o.learningRate } : {}),
      });
    }
    case "stylegan2":
      return demoStyleGan2Config({
        resolution,
        ...(o.latentDim ? { latentSize: o.latentDim } : {}),
        ...(o.fmapMax ? { fmapMax: o.fmapMax } : {}),
        ...(o.learningRate ? { learningRate: o.learningRate } : {}),
      });
    case "spade2stage": {
      const stage1 = defaultGanConfig({
        family: "pgan",
        resolution,
        channels: LABEL_CLASSES,
        latentSize: o.latentDim ?? 32,
        fmapBase: 256,
        fmapMax: o.fmapMax ?? 32,
      });
      const zDim = 16;
      return demoSpadeConfig({
        resolution,
        stage1,
        zDim,
        latentSize: stage1.latentSize + zDim,
        ...(o.fmapMax ? { ngf: Math.min(8, o.fmapMax), ndf: Math.min(16, o.fmapMax) } : {}),
        ...(o.learningRate ? { lrG: o.learningRate, lrD: o.learningRate } : {}),
      });
    }
  }
}
