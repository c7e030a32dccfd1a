// The manifest: written LAST, it is what makes an artifact exist. The next stage reads only manifests and
// ObjectRefs, so any stage can be re-run, cached or moved to another machine.
import { randomBytes } from "node:crypto";
import { FailedPrecondition, InvalidInput } from "@synthmri/core";

export const MANIFEST_SCHEMA_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";

export const KNOWN_ARTIFACT_KINDS = [
  "dataset",
  "gan-checkpoint",
  "ensemble",
  "seg-model",
  "evaluation",
  "report",
  "experiment",
  "job",
] as const;
export type KnownArtifactKind = (typeof KNOWN_ARTIFACT_KINDS)[number];
/** Known kinds autocomplete; other lower-case kinds are allowed. */
export type ArtifactKind = KnownArtifactKind | (string & {});

/** Points at one object, pinned by content. */
export interface ObjectRef {
  bucket: string;
  key: string;
  sha256: string;
  size: number;
}

export interface FileChecksum {
  sha256: string;
  size: number;
}

/** Where an artifact came from; free-form beyond the common fields. */
export interface Provenance {
  service?: string;
  version?: string;
  backend?: string;
  host?: string;
  seed?: number;
  jobId?: string;
  [field: string]: unknown;
}

export interface ManifestBase {
  kind: string;
  schemaVersion: number;
  id: string;
  /** ISO 8601. */
  createdAt: string;
  inputs: ObjectRef[];
  params: Record<string, unknown>;
  provenance: Provenance;
  /** Every file of the artifact (paths relative to <kind>/<id>/), manifest excluded. */
  checksums: Record<string, FileChecksum>;
}

/** A manifest with kind-specific top-level fields E (e.g. a dataset's slice count). */
export type Manifest<E extends object = Record<string, unknown>> = ManifestBase & E;

const RESERVED = new Set(["kind", "schemaVersion", "id", "createdAt", "inputs", "params", "provenance", "checksums"]);

export function checkExtraFields(extra: Record<string, unknown>): void {
  for (const k of Object.keys(extra)) {
    if (RESERVED.has(k))
      throw new InvalidInput(`manifest extra field "${k}" would overwrite a standard manifest field`);
  }
}

export function checkKind(kind: string): void {
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(kind) || kind === "jobs") {
    throw new InvalidInput(`artifact kind "${kind}" must be lower-case letters, digits and "-" (and not "jobs")`);
  }
}

export function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) {
    throw new InvalidInput(
      `artifact id "${id.slice(0, 140)}" must be 1-128 of A-Z a-z 0-9 . _ - starting alphanumeric`,
    );
  }
}

export function checkFilePath(path: string): void {
  const segments = path.split("/");
  if (
    !path ||
    path.length > 512 ||
    path === MANIFEST_FILE ||
    segments.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new InvalidInput(
      `artifact file path "${path.slice(0, 120)}" must be relative, without empty, "." or ".." segments, and not "${MANIFEST_FILE}"`,
    );
  }
}

export function parseManifest(bytes: Buffer, kind: string, id: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new FailedPrecondition(`manifest of ${kind} "${id}" is not valid JSON; delete and re-create the artifact`, {
      cause: err,
    });
  }
  const o = m as Partial<ManifestBase>;
  if (
    typeof o !== "object" ||
    o === null ||
    o.kind !== kind ||
    o.id !== id ||
    typeof o.schemaVersion !== "number" ||
    typeof o.createdAt !== "string" ||
    !Array.isArray(o.inputs) ||
    typeof o.checksums !== "object" ||
    o.checksums === null
  ) {
    throw new FailedPrecondition(
      `manifest of ${kind} "${id}" lacks kind/id/schemaVersion/createdAt/inputs/checksums or names another artifact`,
    );
  }
  if (o.schemaVersion > MANIFEST_SCHEMA_VERSION) {
    throw new FailedPrecondition(
      `manifest of ${kind} "${id}" has schemaVersion ${o.schemaVersion}; this build reads up to ${MANIFEST_SCHEMA_VERSION}: upgrade synthmri`,
    );
  }
  return m as Manifest;
}

/** Sortable, unique enough ids: 20261125-221500-<8 hex>. */
export function newArtifactId(now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-25T22:15:00.000Z
  const stamp = `${iso.slice(0, 10).replace(/-/g, "")}-${iso.slice(11, 19).replace(/:/g, "")}`;
  return `${stamp}-${randomBytes(4).toString("hex")}`;
}
