import { generatePhantomSubject } from "@synthmri/volume";
const size = (process.argv[2] ?? "64,64,40").split(",").map(Number) as [number, number, number];
const n = Number(process.argv[3] ?? 10);
const c0 = process.cpuUsage(); const t0 = Date.now();
for (let i = 0; i < n; i++) generatePhantomSubject(i, { size, seed: "0" });
const c = process.cpuUsage(c0);
console.log(`${size.join("x")}: ${((c.user + c.system) / 1000 / n).toFixed(0)} ms CPU/subject, ${((Date.now() - t0) / n).toFixed(0)} ms wall`);
