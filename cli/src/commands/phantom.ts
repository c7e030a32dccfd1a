// `synthmri phantom --subjects N --out DIR [--size 96x96x60] [--seed S]`: a BraTS-2020-layout
// cohort of synthetic subjects as real .nii.gz files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";

export const summary = "write a synthetic BraTS-2020-layout cohort (phantom brains with tumours)";

const USAGE =
  "usage: synthmri phantom --subjects N --out DIR [--size XxYxZ (default 240x240x155)] [--seed S (default 0)]";

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        subjects: { type: "string" },
        out: { type: "string" },
        size: { type: "string", default: "240x240x155" },
        seed: { type: "string", default: "0" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`synthmri phantom: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const problems: string[] = [];
  if (values.subjects === undefined) problems.push("missing --subjects N");
  if (values.out === undefined) problems.push("missing --out DIR");
  const subjects = Number(values.subjects);
  if (values.subjects !== undefined && (!Number.isInteger(subjects) || subjects < 1))
    problems.push(`--subjects must be a positive integer, got ${values.subjects}`);
  const size = String(values.size)
    .split("x")
    .map((d) => Number(d));
  if (size.length !== 3 || size.some((d) => !Number.isInteger(d) || d < 1))
    problems.push(`--size must look like 96x96x60, got ${values.size}`);
  if (problems.length) {
    console.error(`synthmri phantom: ${problems.join("; ")}\n${USAGE}`);
    return 2;
  }
  const out = String(values.out);
  const t0 = Date.now();
  for (let i = 0; i < subjects; i++) {
    const s = generatePhantomSubject(i, { size: size as [number, number, number], seed: String(values.seed) });
    const dir = join(out, s.id);
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(phantomSubjectFiles(s))) writeFileSync(join(dir, name), bytes);
  }
  console.log(
    `wrote ${subjects} phantom subjects (${size.join("x")}, seed ${values.seed}) to ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return 0;
}
