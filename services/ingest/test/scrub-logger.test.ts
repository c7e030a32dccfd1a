import { describe, expect, it } from "vitest";
import { scrubText } from "../src/adapters/scrub-logger.js";

describe("scrubText (ingest log masking)", () => {
  it("masks subject ids and real file paths", () => {
    expect(scrubText("subject BraTS20_001: cannot read /data/BraTS20_001/BraTS20_001_t1.nii.gz")).toBe(
      "subject [id]: cannot read [file]",
    );
  });

  it("keeps the layout patterns of the 'no cohort layout recognised' warning readable (issue 19)", () => {
    const line =
      "no cohort layout recognised: expected BraTS 2020/2021 files (<id>/<id>_{t1,t1ce,t2,flair,seg}.nii.gz), " +
      "BraTS 2023 files (<id>/<id>-{t1n,t1c,t2w,t2f,seg}.nii.gz) or a manifest.csv/manifest.json";
    expect(scrubText(line)).toBe(line);
    expect(scrubText(line)).not.toContain("[file]");
  });
});
