#!/usr/bin/env node
// Package borders, checked without a build:
//  1. a workspace imports another @synthmri package only if its package.json declares it;
//  2. the declared graph between workspaces has no cycle;
//  3. domain code (services/*/src/**/domain, packages/volume, packages/ml, packages/eval) never imports gRPC or S3 modules;
//  4. pure packages (volume, ml, eval and the leaf core) never depend on @synthmri/platform, whose barrel loads the
//     object store (minio, s3rver) and metrics: they take errors, abort helpers and the Logger type from @synthmri/core;
//  5. the artifact format is the data bus, RPCs carry ids and control: the services that consume datasets
//     (generator, segmenter, evaluator) read them only through the port of their domain (domain/ports.ts, implemented
//     in adapters/), so their domain code never reads dataset shards or manifests itself, and no service but ingest
//     calls ingest's IngestService (StreamSlices is for external clients).
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const problems = [];

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "gen") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

const importRe = /(?:from\s+|import\s*\(\s*|import\s+)["']([^"']+)["']/g;
function importsOf(file) {
  const src = readFileSync(file, "utf8");
  return [...src.matchAll(importRe)].map((m) => m[1]);
}

const workspaces = rootPkg.workspaces.map((w) => {
  const pkg = JSON.parse(readFileSync(join(root, w, "package.json"), "utf8"));
  return { dir: w, name: pkg.name, deps: new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })) };
});
const byName = new Map(workspaces.map((w) => [w.name, w]));

for (const ws of workspaces) {
  for (const file of walk(join(root, ws.dir))) {
    for (const spec of importsOf(file)) {
      const m = spec.match(/^(@synthmri\/[^/]+)/);
      if (m && m[1] !== ws.name && !ws.deps.has(m[1])) {
        problems.push(`${relative(root, file)} imports ${m[1]} but ${ws.dir}/package.json does not declare it`);
      }
    }
  }
}

// Cycle check over declared workspace dependencies (DFS with colours).
const colour = new Map();
function visit(name, path) {
  colour.set(name, "grey");
  for (const dep of byName.get(name).deps) {
    if (!byName.has(dep)) continue;
    if (colour.get(dep) === "grey") problems.push(`dependency cycle: ${[...path, name, dep].join(" -> ")}`);
    else if (!colour.has(dep)) visit(dep, [...path, name]);
  }
  colour.set(name, "black");
}
for (const ws of workspaces) if (!colour.has(ws.name)) visit(ws.name, []);

const forbiddenInDomain = /^(@grpc\/|grpc-health-check|minio$|s3rver$|@synthmri\/rpc$|@synthmri\/contracts$)/;
/** Every folder named domain under a service's src (src/domain, and a feature's own, e.g. src/partner/domain). */
function domainFoldersUnder(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isDirectory()) continue;
    if (name === "domain") out.push(p);
    else domainFoldersUnder(p, out);
  }
  return out;
}
const domainDirs = [
  ...readdirSync(join(root, "services")).flatMap((s) => domainFoldersUnder(join(root, "services", s, "src"))),
  join(root, "packages", "volume", "src"),
  join(root, "packages", "ml", "src"),
  join(root, "packages", "eval", "src"),
];
for (const dir of domainDirs) {
  for (const file of walk(dir)) {
    for (const spec of importsOf(file)) {
      if (forbiddenInDomain.test(spec)) problems.push(`${relative(root, file)}: domain code imports ${spec}`);
    }
  }
}

const purePackages = ["packages/core", "packages/volume", "packages/ml", "packages/eval"];
const forbiddenInPure = /^(@synthmri\/platform|@synthmri\/rpc|@synthmri\/contracts|prom-client|minio|s3rver|@grpc\/)/;
for (const dir of purePackages) {
  const ws = workspaces.find((w) => w.dir === dir);
  for (const dep of ws?.deps ?? []) {
    if (forbiddenInPure.test(dep)) problems.push(`${dir}/package.json declares ${dep}: pure packages may not depend on it`);
  }
  for (const file of walk(join(root, dir))) {
    for (const spec of importsOf(file)) {
      if (forbiddenInPure.test(spec)) problems.push(`${relative(root, file)}: pure package imports ${spec}`);
    }
  }
}

const datasetConsumers = ["generator", "segmenter", "evaluator"];
const datasetReadInDomain = [
  [/\breadDatasetSlices\b/, "reads dataset shards (readDatasetSlices)"],
  [/\basDatasetManifest\b/, "reads a dataset manifest (asDatasetManifest)"],
  [/\b(getManifest|readFile|readJson)\(\s*(DATASET_KIND|["']dataset["'])/, "reads a dataset artifact from the store"],
];
for (const service of datasetConsumers) {
  const src = join(root, "services", service, "src");
  for (const file of domainFoldersUnder(src).flatMap((d) => walk(d))) {
    const text = readFileSync(file, "utf8");
    for (const [re, what] of datasetReadInDomain) {
      if (re.test(text)) problems.push(`${relative(root, file)}: domain code ${what}; read datasets through domain/ports.ts`);
    }
  }
  for (const file of walk(src)) {
    if (/\bIngestService\b/.test(readFileSync(file, "utf8")))
      problems.push(`${relative(root, file)}: calls the ingest service; read the dataset artifact through the domain's port`);
  }
}

if (problems.length) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} boundary problem(s)`);
  process.exit(1);
}
console.log(`package borders ok (${workspaces.length} workspaces)`);
