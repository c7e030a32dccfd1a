#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so that `npx synthmri ...` works without a build step.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const tsxCli = require.resolve("tsx/cli");
const entry = join(here, "..", "src", "main.ts");
const r = spawnSync(process.execPath, [tsxCli, entry, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, SYNTHMRI_CLI_ENTRY: "1" },
});
process.exit(r.status ?? 1);
