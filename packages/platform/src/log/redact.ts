// Makes log fields safe: voxel data (typed arrays, Buffers, long arrays) never reaches a log line, however
// deeply it is nested; errors become plain objects; cycles and huge strings are cut.

import { boundText } from "@synthmri/core";

const MAX_ARRAY_ITEMS = 32;
const MAX_STRING = 2000;
const MAX_DEPTH = 6;

export function redactValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case "string":
      return boundText(value, MAX_STRING);
    case "number":
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "function":
    case "symbol":
      return `[${typeof value}]`;
  }
  const obj = value as object;
  if (ArrayBuffer.isView(obj)) return `[binary ${obj.constructor.name} ${obj.byteLength} bytes omitted]`;
  if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) return `[binary ${obj.byteLength} bytes omitted]`;
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? "Invalid Date" : obj.toISOString();
  if (obj instanceof Error) return redactError(obj, depth, seen);
  if (seen.has(obj)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      if (obj.length > MAX_ARRAY_ITEMS) return `[array of ${obj.length} items omitted]`;
      return obj.map((v) => redactValue(v, depth + 1, seen));
    }
    if (obj instanceof Map) return redactValue(Object.fromEntries(obj), depth, seen);
    if (obj instanceof Set) return redactValue([...obj], depth, seen);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = redactValue(v, depth + 1, seen);
    return out;
  } finally {
    seen.delete(obj);
  }
}

function redactError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: redactValue(err.message, depth + 1, seen) };
  const kind = (err as { kind?: unknown }).kind;
  if (typeof kind === "string") out.kind = kind;
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = redactValue(code, depth + 1, seen);
  if (err.stack) out.stack = err.stack.split("\n").slice(0, 12).join("\n");
  if (err.cause !== undefined && depth < MAX_DEPTH) out.cause = redactValue(err.cause, depth + 1, seen);
  return out;
}
