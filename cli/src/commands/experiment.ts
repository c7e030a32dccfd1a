// `synthmri experiment run [SPEC|--preset demo|paper] [--data DIR] [--out DIR]` and `synthmri experiment rerun MANIFEST`.
import { printEstimate } from "../experiment/estimate.js";
import { RUN_USAGE, loadManifestSpec, loadSpecFromArgs, parseRunArgs, runWithSignals } from "../experiment/command.js";

export const summary = "run the seed-000 experiment from a spec (presets demo, paper) or rerun a manifest";

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    console.log(RUN_USAGE);
    return sub ? 0 : 2;
  }
  if (sub !== "run" && sub !== "rerun") {
    console.error(`synthmri experiment: unknown subcommand '${sub}'\n${RUN_USAGE}`);
    return 2;
  }
  let parsed: ReturnType<typeof parseRunArgs>;
  try {
    parsed = parseRunArgs(rest);
  } catch (e) {
    console.error(`synthmri experiment: ${(e as Error).message}\n${RUN_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    console.error(`synthmri experiment: one spec at most, got ${positionals.join(" ")}\n${RUN_USAGE}`);
    return 2;
  }
  let spec: ReturnType<typeof loadManifestSpec>;
  try {
    if (sub === "rerun") {
      if (!positionals[0]) {
        console.error(
          `synthmri experiment rerun: give the experiment manifest (out/<id>/experiment.json)\n${RUN_USAGE}`,
        );
        return 2;
      }
      spec = loadManifestSpec(positionals[0]);
    } else {
      spec = loadSpecFromArgs(positionals[0], values);
    }
  } catch (e) {
    console.error(`synthmri experiment: ${(e as Error).message}`);
    return 2;
  }
  if (values.estimate) {
    try {
      await printEstimate(spec);
      return 0;
    } catch (e) {
      console.error(`synthmri experiment --estimate: ${(e as Error).message}`);
      return 1;
    }
  }
  return runWithSignals(spec, values);
}
