// Content addressing: the same kind + inputs + params always give the same artifact id, so a stage can find
// and reuse work it has already done. Object key order never matters; values that have no stable JSON
// form (NaN, typed arrays, functions) are refused rather than silently hashed wrong.
import { createHash } from "node:crypto";
import { InvalidInput } from "@synthmri/core";

export function stableStringify(value: unknown, path = "$"): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new InvalidInput(`cannot hash ${path}: ${value} is not a finite number`);
      return JSON.stringify(value);
    case "bigint":
      return JSON.stringify(`${value}n`);
    case "undefined":
      return "null";
    case "object": {
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
        throw new InvalidInput(`cannot hash ${path}: binary data; hash its ObjectRef (sha256) instead`);
      }
      if (Array.isArray(value)) return `[${value.map((v, i) => stableStringify(v, `${path}[${i}]`)).join(",")}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v, `${path}.${k}`)}`).join(",")}}`;
    }
    default:
      throw new InvalidInput(`cannot hash ${path}: a ${typeof value} has no stable form`);
  }
}

/** A stable 32-hex-character id for an artifact of `kind` made from `material` (typically { inputs, params }). */
export function artifactIdFor(kind: string, material: unknown): string {
  return createHash("sha256")
    .update(`${kind}\n${stableStringify(material)}`)
    .digest("hex")
    .slice(0, 32);
}
