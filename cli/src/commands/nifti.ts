// `synthmri nifti info FILE [--json] [--labels]` and `synthmri nifti conformance DIR`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { checkReferenceEntry, niftiInfo, readNifti } from "@synthmri/volume";
import { formatInfoText } from "./nifti-text.js";

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

/** Strict parsing (an unknown or misspelt option is an error, not ignored); a usage message on error. */
function parse(
  cmd: string,
  args: string[],
  options: Record<string, { type: "boolean" }>,
): { values: Record<string, boolean | undefined>; positionals: string[] } | string {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, boolean | undefined>, positionals };
  } catch (e) {
    return `synthmri nifti ${cmd}: ${(e as Error).message}\n${USAGE}`;
  }
}

function info(args: string[]): number {
  const parsed = parse("info", args, { json: { type: "boolean" }, labels: { type: "boolean" } });
  if (typeof parsed === "string") {
    console.error(parsed);
    return 2;
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) {
    console.error(`synthmri nifti info: ${file ? "give one FILE" : "missing FILE"}\n${USAGE}`);
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "EISDIR" ? "is a directory (give one .nii or .nii.gz file)" : (e as Error).message;
    console.error(`synthmri nifti info: cannot read ${file}: ${why}`);
    return 1;
  }
  let out: Record<string, unknown>;
  try {
    out = niftiInfo(readNifti(bytes, file), { labels: parsed.values.labels === true });
  } catch (e) {
    console.error(`synthmri nifti info: ${file}: ${(e as Error).message}`);
    return 1;
  }
  if (parsed.values.json) console.log(JSON.stringify(out, null, 1));
  else for (const line of formatInfoText(out)) console.log(line);
  return 0;
}

function conformance(args: string[]): number {
  const parsed = parse("conformance", args, {});
  if (typeof parsed === "string") {
    console.error(parsed);
    return 2;
  }
  const [dir] = parsed.positionals;
  if (!dir || parsed.positionals.length > 1) {
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
