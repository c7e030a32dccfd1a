#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so that `npx synthmri ...` works without a build step.
// Asynchronous spawn so that SIGTERM/SIGINT/SIGHUP sent to this wrapper reach the CLI (which stops the
// services it supervises); with a blocking spawn the wrapper would die alone and orphan them.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const tsxCli = require.resolve("tsx/cli");
const entry = join(here, "..", "src", "main.ts");
const child = spawn(process.execPath, [tsxCli, entry, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, SYNTHMRI_CLI_ENTRY: "1" },
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    // A terminal's Ctrl-C already reached the whole process group; forwarding again is harmless (the CLI
    // ignores a repeated signal while it stops).
    if (child.exitCode === null) child.kill(signal);
  });
}
child.on("exit", (code, signal) => {
  if (signal) process.exitCode = signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1;
  else process.exitCode = code ?? 1;
});
