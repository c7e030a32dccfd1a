// Text rendering of `nifti info`: plain values (no JSON quoting), matrices one row per line, and the xyzt_units
// code decoded into its space and time units (NIfTI-1 header: bits 0-2 space, bits 3-5 time).

const SPACE_UNITS: Record<number, string> = { 0: "unknown", 1: "m", 2: "mm", 3: "um" };
const TIME_UNITS: Record<number, string> = {
  0: "unknown",
  8: "s",
  16: "ms",
  24: "us",
  32: "Hz",
  40: "ppm",
  48: "rad/s",
};

/** "2 (mm), time 8 (s)" style decoding of a NIfTI xyzt_units byte, as nibabel's get_xyzt_units reports it. */
export function decodeXyztUnits(code: number): { space: string; time: string } {
  const space = SPACE_UNITS[code & 0x07] ?? `code ${code & 0x07}`;
  const time = TIME_UNITS[code & 0x38] ?? `code ${code & 0x38}`;
  return { space, time };
}

function plain(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== "object" || x === null)) return v.map(plain).join(" ");
    return v
      .map((x) => (typeof x === "object" && x !== null && !Array.isArray(x) ? `{${plain(x)}}` : plain(x)))
      .join(" ");
  }
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${k}=${plain(x)}`)
    .join(" ");
}

/** Lines of `synthmri nifti info` in text mode. */
export function formatInfoText(info: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const pad = (k: string) => k.padEnd(16);
  for (const [k, v] of Object.entries(info)) {
    if (k === "xyzt_units" && typeof v === "number") {
      const u = decodeXyztUnits(v);
      lines.push(`${pad(k)} ${v} (space ${u.space}, time ${u.time})`);
    } else if (Array.isArray(v) && v.length > 0 && v.every((row) => Array.isArray(row))) {
      // A matrix (affines): one row a line, aligned under the first.
      v.forEach((row, i) => {
        lines.push(`${i === 0 ? pad(k) : pad("")} ${plain(row)}`);
      });
    } else if (v === "" || (Array.isArray(v) && v.length === 0)) {
      lines.push(`${pad(k)} (empty)`);
    } else {
      lines.push(`${pad(k)} ${plain(v)}`);
    }
  }
  return lines;
}
