// `npx tsx bench/src/gpu/cli.ts [options]`: the GPU bench runner from the source tree (bench/gpu.sh without a pack).
import { runGpuBench } from "./main.js";

runGpuBench(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`gpu bench failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
