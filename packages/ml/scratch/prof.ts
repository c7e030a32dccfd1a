import { drawAnatomy, sampleBrain } from "../../volume/src/phantom/anatomy.js";
import { drawTumour, planTumour } from "../../volume/src/phantom/tumour.js";
import { SeededRandom } from "../../volume/src/random.js";
import { generatePhantomSubject } from "../../volume/src/phantom/phantom.js";
const shape = [64, 64, 40];
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
let ta = 0, tt = 0, tg = 0;
for (let i = 0; i < 10; i++) {
  const rng = new SeededRandom(`x:${i}`);
  const b = sampleBrain(rng, shape);
  let t = cpu(); const a = drawAnatomy(rng, shape, b); ta += cpu() - t;
  const plan = planTumour(rng, b);
  t = cpu(); drawTumour(rng, shape, plan, a); tt += cpu() - t;
  t = cpu(); generatePhantomSubject(i, { size: [64, 64, 40], seed: 0 }); tg += cpu() - t;
}
console.log(`anatomy ${ta / 10} ms, tumour ${tt / 10} ms, whole ${tg / 10} ms`);
