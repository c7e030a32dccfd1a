// `npm start` = `synthmri start`: boot every service on embedded defaults (one shared object store) and run
// the demo experiment (or another preset/spec given with the same options as `experiment run`).
import { RUN_USAGE, loadSpecFromArgs, parseRunArgs, runWithSignals } from "../experiment/command.js";

export const summary = "boot every service on embedded defaults and run the main job (the demo experiment)";

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseRunArgs>;
  try {
    parsed = parseRunArgs(argv);
  } catch (e) {
    console.error(
      `synthmri start: ${(e as Error).message}\n${RUN_USAGE.replace(/synthmri experiment run/, "synthmri start")}`,
    );
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(
      `usage: synthmri start [SPEC] [--preset demo|paper] [--data DIR] [--out DIR] [--data-dir DIR]\n\n${RUN_USAGE}`,
    );
    return 0;
  }
  let spec: ReturnType<typeof loadSpecFromArgs>;
  try {
    spec = loadSpecFromArgs(positionals[0], values);
  } catch (e) {
    console.error(`synthmri start: ${(e as Error).message}`);
    return 2;
  }
  return runWithSignals(spec, values);
}
