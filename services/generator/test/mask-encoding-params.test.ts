// gan.maskEncoding from the TrainGan request to the model config (issue 16): ONEHOT reaches the GAN and DDPM
// configs, UNSPECIFIED / LEVEL leave the config as before the field (so older runs' checkpoints resume).
import { GanFamily, MaskEncoding } from "@synthmri/contracts";
import { networkChannels } from "@synthmri/ml";
import { describe, expect, it } from "vitest";
import { settingsFromProto, settingsToProto } from "../src/handlers/convert.js";
import { resolveTraining } from "../src/domain/params.js";

const resolve = (family: GanFamily, maskEncoding: MaskEncoding) =>
  resolveTraining(settingsFromProto(family, { resolution: 16, totalKimg: 1, maskEncoding }));

describe("mask_encoding", () => {
  it("ONEHOT and REGIONS reach the PGAN/hinge config; UNSPECIFIED and LEVEL leave no field", () => {
    for (const family of [GanFamily.PGAN, GanFamily.HINGE]) {
      const onehot = resolve(family, MaskEncoding.ONEHOT);
      expect(onehot.config.maskEncoding).toBe("onehot");
      expect(networkChannels(onehot.config)).toBe(7);
      expect(resolve(family, MaskEncoding.REGIONS).config.maskEncoding).toBe("regions");
      for (const e of [MaskEncoding.UNSPECIFIED, MaskEncoding.LEVEL]) {
        const level = resolve(family, e);
        expect("maskEncoding" in level.config).toBe(false);
      }
    }
  });

  it("DDPM's noise image grows to 7 channels; StyleGAN2 and the two-stage family keep their own one-hot classes", () => {
    const ddpm = resolve(GanFamily.DDPM, MaskEncoding.ONEHOT).config;
    expect(ddpm).toMatchObject({ maskEncoding: "onehot", latentSize: 16 * 16 * 7 });
    expect(resolve(GanFamily.DDPM, MaskEncoding.LEVEL).config.latentSize).toBe(16 * 16 * 5);
    expect("maskEncoding" in resolve(GanFamily.STYLEGAN2, MaskEncoding.ONEHOT).config).toBe(false);
    expect("maskEncoding" in resolve(GanFamily.SPADE2STAGE, MaskEncoding.ONEHOT).config).toBe(false);
  });

  it("round-trips through the proto, and an unknown value is INVALID_ARGUMENT", () => {
    const s = settingsFromProto(GanFamily.PGAN, { resolution: 16, maskEncoding: MaskEncoding.ONEHOT });
    expect(settingsToProto(s).maskEncoding).toBe(MaskEncoding.ONEHOT);
    const r = settingsFromProto(GanFamily.PGAN, { resolution: 16, maskEncoding: MaskEncoding.REGIONS });
    expect(settingsToProto(r).maskEncoding).toBe(MaskEncoding.REGIONS);
    expect(settingsToProto(settingsFromProto(GanFamily.PGAN, { resolution: 16 })).maskEncoding).toBe(
      MaskEncoding.UNSPECIFIED,
    );
    expect(() => settingsFromProto(GanFamily.PGAN, { resolution: 16, maskEncoding: 9 as MaskEncoding })).toThrow(
      /mask_encoding 9 is unknown/,
    );
  });
});
