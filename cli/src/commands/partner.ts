// `synthmri partner ...`: the partner's client of the hospital's PartnerService (the generator's partner listener,
// PARTNER_PORT: PartnerService + the partner's own jobs, the token on every call).
//   generators                                                   the generators this partner may request, with cards (JSON)
//   request  --size N [--format nnunet|shards] --out DIR [--ensemble ID] [--seed S] [--purpose TEXT]
//            [--min-tumor F] [--max-tumor F] [--all-classes]   request, follow the job, download, verify, unpack
//   download --bundle ID --out DIR                               download a finished bundle again
//   url      --bundle ID [--expires SECONDS]                     print a presigned URL of the bundle archive (.tar)
// Common: --addr HOST:PORT (default $SYNTHMRI_PARTNER_ADDR or 127.0.0.1:50055), --token T (default
// $SYNTHMRI_PARTNER_TOKEN), --ca FILE (TLS: CA of the hospital's server; --cert/--key for mTLS).
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { BundleFormat, type GeneratorCard, JobService, JobState, PartnerService } from "@synthmri/contracts";
import { DEFAULT_PARTNER_PORT } from "@synthmri/platform";
import { type Client, type ClientOptions, createClient, GrpcStatus, isRpcError } from "@synthmri/rpc";
import { isoTime } from "../connect/command-kit.js";
import { describeCallError } from "../connect/errors.js";
import { clientTlsOptions, TLS_ARG_OPTIONS, TlsArgsError } from "../connect/tls.js";

export const summary = "partner: request, download and verify a certified synthetic dataset";

const USAGE = `usage:
  synthmri partner generators              the generators you may request, each with its card (JSON)
  synthmri partner request --size N [--format nnunet|shards] --out DIR [--ensemble ID] [--seed S]
                           [--purpose TEXT] [--min-tumor F] [--max-tumor F] [--all-classes]
  synthmri partner download --bundle ID --out DIR
  synthmri partner url --bundle ID [--expires SECONDS]
common options: --addr HOST:PORT of the hospital's partner port (default $SYNTHMRI_PARTNER_ADDR or 127.0.0.1:${DEFAULT_PARTNER_PORT})
                --token TOKEN (default $SYNTHMRI_PARTNER_TOKEN)  --quiet
                --tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME] (or TLS_CA, TLS_CERT,
                TLS_KEY; --ca/--cert/--key are accepted as before)  --plaintext`;

export interface PartnerIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: PartnerIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  env: process.env,
};

class UsageError extends Error {}

type PartnerClient = Client<(typeof PartnerService)["method"]>;

function clientOptions(values: Record<string, unknown>, token: string, env: NodeJS.ProcessEnv): ClientOptions {
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const tls = clientTlsOptions(
    {
      "tls-ca": str("tls-ca") ?? str("ca"),
      "tls-cert": str("tls-cert") ?? str("cert"),
      "tls-key": str("tls-key") ?? str("key"),
      "tls-server-name": str("tls-server-name"),
      plaintext: values.plaintext === true,
    },
    env,
  );
  return { metadata: { authorization: `Bearer ${token}` }, ...tls, defaultDeadlineMs: 60_000 };
}

function numberOpt(v: unknown, name: string, integer: boolean, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max)
    throw new UsageError(`--${name} ${String(v)} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}]`);
  return n;
}

/** Downloads every file of a bundle into dir, verifying size and sha256 of each; returns the file names. */
export async function downloadBundle(
  partner: PartnerClient,
  bundleId: string,
  dir: string,
  io: PartnerIo,
  quiet = false,
): Promise<string[]> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const names: string[] = [];
  let current: { name: string; size: number; sha256: string; parts: Uint8Array[]; got: number } | undefined;
  const finish = async () => {
    if (!current) return;
    const c = current;
    const data = Buffer.concat(c.parts);
    const sha = createHash("sha256").update(data).digest("hex");
    if (data.length !== c.size || sha !== c.sha256)
      throw new Error(
        `${c.name}: checksum mismatch (got ${data.length} bytes, sha256 ${sha.slice(0, 12)}...); download again`,
      );
    const path = resolve(root, c.name);
    if (!path.startsWith(root + sep)) throw new Error(`refusing to write ${c.name} outside ${root}`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
    names.push(c.name);
    current = undefined;
  };
  for await (const msg of partner.downloadDataset({ bundleId })) {
    const f = msg.file?.frame;
    if (f?.case === "header") {
      await finish();
      current = { name: f.value.name, size: Number(f.value.size), sha256: f.value.sha256, parts: [], got: 0 };
    } else if (f?.case === "chunk") {
      if (!current) throw new Error("the server sent data before a file header");
      if (Number(f.value.offset) !== current.got) throw new Error(`${current.name}: chunk out of order`);
      current.parts.push(f.value.data);
      current.got += f.value.data.length;
    }
  }
  await finish();
  if (!quiet) io.err(`downloaded ${names.length} files into ${root} (sha256 verified)`);
  return names;
}

async function request(values: Record<string, unknown>, addr: string, token: string, io: PartnerIo): Promise<number> {
  const size = numberOpt(values.size, "size", true, 1, 1_000_000);
  if (size === undefined) throw new UsageError("--size is required");
  if (typeof values.out !== "string") throw new UsageError("--out DIR is required");
  const fmt = (values.format as string | undefined) ?? "nnunet";
  const format =
    fmt === "nnunet"
      ? BundleFormat.NNUNET
      : fmt === "shards" || fmt === "tensor-shards"
        ? BundleFormat.TENSOR_SHARDS
        : undefined;
  if (format === undefined) throw new UsageError(`--format ${fmt} must be nnunet or shards`);
  const quiet = values.quiet === true;
  const opts = clientOptions(values, token, io.env);
  const partner = createClient(PartnerService, addr, opts);
  const jobs = createClient(JobService, addr, opts);
  try {
    const res = await partner.requestSyntheticDataset({
      size,
      format,
      ensembleId: (values.ensemble as string | undefined) ?? "",
      seed: numberOpt(values.seed, "seed", true, 0, 2 ** 32 - 1) ?? 0,
      purpose: (values.purpose as string | undefined) ?? "",
      filters: {
        minTumorFraction: numberOpt(values["min-tumor"], "min-tumor", false, 0, 1) ?? 0,
        maxTumorFraction: numberOpt(values["max-tumor"], "max-tumor", false, 0, 1) ?? 0,
        requireAllClasses: values["all-classes"] === true,
      },
    });
    if (!quiet) io.err(`bundle ${res.bundleId}: job ${res.jobId} started`);
    let last = "";
    for await (const w of jobs.watchJob({ jobId: res.jobId })) {
      const j = w.job;
      if (!j) continue;
      const line =
        `${j.progress?.phase ?? ""} ${Math.round((j.progress?.fraction ?? 0) * 100)}% ${j.progress?.message ?? ""}`.trim();
      if (!quiet && line !== last) io.err(`  ${line}`);
      last = line;
      if (j.state === JobState.FAILED || j.state === JobState.CANCELLED) {
        io.err(`synthmri partner: request failed: ${j.errorMessage || JobState[j.state]}`);
        return 1;
      }
    }
    const { bundle } = await partner.getBundle({ bundleId: res.bundleId });
    const files = await downloadBundle(partner, res.bundleId, values.out, io, quiet);
    const c = bundle?.certificate;
    io.out(
      JSON.stringify({
        bundleId: res.bundleId,
        out: resolve(values.out),
        images: bundle?.size ?? 0,
        files: files.length,
        utility: c?.utilityStatus ?? "",
        reportId: c?.reportId ?? "",
        rejectedAnatomy: c?.rejectedAnatomy ?? 0,
        rejectedMemorization: c?.rejectedMemorization ?? 0,
      }),
    );
    return 0;
  } finally {
    partner.close();
    jobs.close();
  }
}

/** A generator card as plain JSON (times as ISO strings, no protobuf internals). */
function cardJson(g: GeneratorCard) {
  const { $typeName: _t, trainingData, utility, memorization, createdAt, ...rest } = g;
  const plain = <T extends object>(m: T | undefined) => {
    if (!m) return undefined;
    const { $typeName: _m, ...fields } = m as T & { $typeName?: string };
    return fields;
  };
  const u = plain(utility) as (Omit<NonNullable<typeof utility>, "$typeName"> & { evaluatedAt?: unknown }) | undefined;
  return {
    ...rest,
    trainingData: plain(trainingData),
    utility: u && { ...u, evaluatedAt: utility?.evaluatedAt ? isoTime(utility.evaluatedAt) : "" },
    memorization: plain(memorization),
    createdAt: isoTime(createdAt),
  };
}

export async function run(argv: string[], io: PartnerIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    io.out(USAGE);
    return sub ? 0 : 2;
  }
  let addr = "";
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        size: { type: "string" },
        format: { type: "string" },
        out: { type: "string" },
        ensemble: { type: "string" },
        seed: { type: "string" },
        purpose: { type: "string" },
        "min-tumor": { type: "string" },
        "max-tumor": { type: "string" },
        "all-classes": { type: "boolean" },
        bundle: { type: "string" },
        expires: { type: "string" },
        addr: { type: "string" },
        token: { type: "string" },
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        ...TLS_ARG_OPTIONS,
        quiet: { type: "boolean" },
      },
      strict: true,
    });
    addr = (values.addr as string | undefined) ?? io.env.SYNTHMRI_PARTNER_ADDR ?? `127.0.0.1:${DEFAULT_PARTNER_PORT}`;
    const token = (values.token as string | undefined) ?? io.env.SYNTHMRI_PARTNER_TOKEN ?? "";
    if (!token) throw new UsageError("no partner token: pass --token or set SYNTHMRI_PARTNER_TOKEN");
    if (sub === "request") return await request(values, addr, token, io);
    if (sub === "generators") {
      const partner = createClient(PartnerService, addr, clientOptions(values, token, io.env));
      try {
        const { generators } = await partner.listGenerators({});
        io.out(JSON.stringify(generators.map(cardJson), null, 2));
        return 0;
      } finally {
        partner.close();
      }
    }
    if (sub === "download" || sub === "url") {
      if (typeof values.bundle !== "string") throw new UsageError("--bundle ID is required");
      const partner = createClient(PartnerService, addr, clientOptions(values, token, io.env));
      try {
        if (sub === "download") {
          if (typeof values.out !== "string") throw new UsageError("--out DIR is required");
          await downloadBundle(partner, values.bundle, values.out, io, values.quiet === true);
          return 0;
        }
        const r = await partner.getDownloadUrl({
          bundleId: values.bundle,
          expiresInSeconds: numberOpt(values.expires, "expires", true, 1, 7 * 24 * 3600) ?? 0,
        });
        io.out(r.url);
        return 0;
      } finally {
        partner.close();
      }
    }
    throw new UsageError(`unknown subcommand '${sub}'`);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (
      e instanceof UsageError ||
      e instanceof TlsArgsError ||
      (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))
    ) {
      io.err(`synthmri partner: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
    if (isRpcError(e)) {
      io.err(`synthmri partner: ${describeCallError(e, "partner service", addr)}`);
      if (e.code === GrpcStatus.UNIMPLEMENTED)
        io.err(
          `  ${addr} does not serve the partner API: use the hospital's partner port (PARTNER_PORT, default ${DEFAULT_PARTNER_PORT}), not the generator's internal port`,
        );
      return 1;
    }
    io.err(`synthmri partner: ${(e as Error).message}`);
    return 1;
  }
}
