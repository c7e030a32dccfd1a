#!/usr/bin/env node
// Builds packages/ml/native (the native CPU kernels) with npm's bundled node-gyp, offline, as the root postinstall.
// It never fails the install: without a compiler, headers or node-gyp the product runs on the JS kernels, so every
// failure is a warning naming the cause. SYNTHMRI_NATIVE=0 skips the build; SYNTHMRI_NATIVE_PORTABLE=1 builds without
// -march=native (for images built on one CPU and run on another).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "packages", "ml", "native");
const addon = join(nativeDir, "build", "Release", "synthmri_kernels.node");

function warn(message) {
  console.warn(`synthmri: native kernels not built (${message}); training falls back to the slower JS kernels.`);
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  candidates.push(join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"));
  return candidates.find((p) => existsSync(p));
}

// Node's own headers ship with distro and official builds under <prefix>/include/node; pointing node-gyp there keeps
// it from trying to download them (no internet at install).
function findNodeDir() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined;
}

function build(portable) {
  const gyp = findNodeGyp();
  if (!gyp) return "node-gyp not found next to npm";
  const args = [gyp, "rebuild", "--release", `--jobs=${process.env.SYNTHMRI_NATIVE_JOBS ?? "2"}`];
  const nodedir = findNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const env = { ...process.env };
  if (portable) env.SYNTHMRI_NATIVE_PORTABLE = "1";
  const r = spawnSync(process.execPath, args, { cwd: nativeDir, env, encoding: "utf8", timeout: 300_000 });
  if (r.error) return `node-gyp could not run: ${r.error.message}`;
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-6).join("\n  ");
    return `node-gyp exited with ${r.status}:\n  ${tail}`;
  }
  // Load it in a child process: a -march=native build that this CPU cannot run must not reach the product.
  const probe = spawnSync(process.execPath, ["-e", `const a = require(${JSON.stringify(addon)}); a.setThreads(1); console.log(a.simd())`], {
    encoding: "utf8",
  });
  if (probe.status !== 0) return `built addon does not load: ${(probe.stderr ?? "").trim().split("\n")[0]}`;
  return { simd: probe.stdout.trim() };
}

function main() {
  if (process.env.SYNTHMRI_NATIVE === "0") {
    console.log("synthmri: SYNTHMRI_NATIVE=0, skipping the native kernel build.");
    return;
  }
  if (!existsSync(join(nativeDir, "binding.gyp"))) return warn(`${nativeDir}/binding.gyp missing`);
  let result = build(process.env.SYNTHMRI_NATIVE_PORTABLE === "1");
  if (typeof result === "string" && process.env.SYNTHMRI_NATIVE_PORTABLE !== "1") {
    console.warn(`synthmri: native build with -march=native failed (${result}); retrying portable.`);
    result = build(true);
  }
  if (typeof result === "string") return warn(result);
  console.log(`synthmri: native CPU kernels built (${result.simd}): ${addon}`);
}

try {
  main();
} catch (err) {
  warn(err instanceof Error ? err.message : String(err));
}
process.exitCode = 0;
