// `synthmri nifti info FILE [--json] [--labels]` and `synthmri nifti conformance DIR`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkReferenceEntry, niftiInfo, readNifti } from "@synthmri/volume";

export const summary = "inspect NIfTI files (info) and check a reference set (conformance)";

const USAGE = `usage:
  synthmri nifti info FILE [--json] [--labels]   header fields and voxel statistics
  synthmri nifti conformance DIR                 check every entry of DIR/reference.json`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "info") return info(rest);
  if (sub === "conformance") return conformance(rest);
  console.error(
    sub === "--help" || sub === "-h" ? USAGE : `synthmri nifti: unknown subcommand '${sub ?? ""}'\n${USAGE}`,
  );
  return sub === "--help" || sub === "-h" ? 0 : 2;
}

function info(args: string[]): number {
  const file = args.find((a) => !a.startsWith("--"));
  if (!file) {
    console.error(`synthmri nifti info: missing FILE\n${USAGE}`);
    return 2;
  }
  const vol = readNifti(readFileSync(file), file);
  const out = niftiInfo(vol, { labels: args.includes("--labels") });
  if (args.includes("--json")) {
    console.log(JSON.stringify(out, null, 1));
  } else {
    for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(16)} ${JSON.stringify(v)}`);
  }
  return 0;
}

function conformance(args: string[]): number {
  const dir = args.find((a) => !a.startsWith("--"));
  if (!dir) {
    console.error(`synthmri nifti conformance: missing DIR\n${USAGE}`);
    return 2;
  }
  const entries = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Record<string, unknown>[];
  let passed = 0;
  let failed = 0;
  for (const entry of entries) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(join(dir, String(entry.file)));
    } catch (e) {
      failed++;
      console.log(`${entry.file}: cannot open: ${(e as Error).message}`);
      continue;
    }
    const r = checkReferenceEntry(entry, bytes);
    if (r.ok) passed++;
    else {
      failed++;
      for (const m of r.mismatches) console.log(m);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
