// The training loop's quality hook backed by quality/'s Laplacian SWD: smaller for like than for unlike sets.
import { beforeAll, expect, it } from "vitest";
import { tf } from "@synthmri/ml";
import { blobSlices } from "../../ml/test/gan-fixtures.js";
import { laplacianSwd } from "../src/quality/gan-swd.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

it.each([8, 16])("Laplacian SWD adapter ranks like sets closer than unlike ones at %ipx", async (size) => {
  const swd = laplacianSwd({ nhoodsPerImage: 16, dirRepeats: 1, dirsPerRepeat: 32 });
  const a = tf.tensor4d(blobSlices(16, size, 1).data, [16, size, size, 5]);
  const b = tf.tensor4d(blobSlices(16, size, 2).data, [16, size, size, 5]);
  const noise = tf.randomUniform([16, size, size, 5], -1, 1) as tf.Tensor4D;
  const near = await swd(a, b);
  const far = await swd(noise, b);
  expect(near).toBeLessThan(far);
  tf.dispose([a, b, noise]);
});
