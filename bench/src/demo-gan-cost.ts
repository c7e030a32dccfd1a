// Demo GAN cost: CPU-seconds per kimg of the demo's PGAN (32x32, latent 64, fmapMax 16, fmapMin 8) per growth
// level and minibatch, one thread (the demo's members each train in their own process). Answers "is a step
// per-op overhead or FLOPs?": if CPU per image falls with the batch, larger batches buy kimg.
// `npx tsx bench/src/demo-gan-cost.ts` (DEMO_GAN_BATCHES=8,16,32 DEMO_GAN_STEPS=6).
import { createGan, defaultGanConfig, initBackend, Rng, tf } from "@synthmri/ml";

const batches = (process.env.DEMO_GAN_BATCHES ?? "8,16,32").split(",").map(Number);
const steps = Number(process.env.DEMO_GAN_STEPS) || 6;
const levels = (process.env.DEMO_GAN_LEVELS ?? "0,1,2,3").split(",").map(Number);
await initBackend({ threads: 1 });
const fmapMin = Number(process.env.DEMO_GAN_FMAP_MIN) || 8;
const config = defaultGanConfig({
  family: "pgan",
  resolution: 32,
  latentSize: 64,
  fmapMax: 16,
  fmapBase: fmapMin * 16,
});
// DEMO_GAN_NO_GP=1: the same step without the gradient penalty (what a lazy penalty every k steps saves).
const noGp = process.env.DEMO_GAN_NO_GP === "1";
for (const level of levels) {
  const res = 4 * 2 ** level;
  for (const batch of batches) {
    const model = createGan(config, 0);
    model.setGrowth({ level, alpha: 0.5 });
    if (noGp) (model as unknown as { loss: string }).loss = "hinge";
    const rng = new Rng(1);
    const real = tf
      .tensor4d(rng.fillUniform(new Float32Array(batch * res * res * 5)), [batch, res, res, 5])
      .mul(2)
      .sub(1) as tf.Tensor4D;
    model.trainStep(real);
    const c0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) model.trainStep(real);
    const c = process.cpuUsage(c0);
    const cpuMs = (c.user + c.system) / 1000 / steps;
    console.log(
      JSON.stringify({
        res,
        batch,
        fmapMin,
        noGp,
        cpuMsPerStep: Math.round(cpuMs),
        cpuSecPerKimg: +(((cpuMs / batch) * 1000) / 1000).toFixed(1),
      }),
    );
    real.dispose();
    model.dispose();
  }
}
