// RFC 4180 CSV: fields with comma, quote or newline are quoted; NaN and missing values are empty cells.

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isNaN(v) ? "" : String(v);
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(",")).join("\n")}\n`;
}
