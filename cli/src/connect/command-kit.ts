// The frame of the management commands (datasets, jobs, ensembles, models): strict argument parsing, usage on
// error (exit 2), one wording for call failures (exit 1), --json or a text table on stdout.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { describeCallError } from "./errors.js";
import { TLS_ARG_OPTIONS, TlsArgsError } from "./tls.js";

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Asks a yes/no question on a terminal; undefined when there is none (then --yes is required). */
  confirm?: (question: string) => Promise<boolean>;
}

export const defaultIo: CommandIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  env: process.env,
  confirm: process.stdin.isTTY ? askOnTerminal : undefined,
};

async function askOnTerminal(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export class UsageError extends Error {}

/** Options every management command takes: where the service is, TLS, output format. */
export const COMMON_OPTIONS = {
  addr: { type: "string" },
  ...TLS_ARG_OPTIONS,
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const COMMON_USAGE = `common options:
  --addr HOST:PORT         the service (default <SERVICE>_ADDR, or 127.0.0.1:<SERVICE>_PORT)
  --json                   machine-readable output
  --tls-ca FILE [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME] | --plaintext
                           TLS/mTLS (default: TLS_CA, TLS_CERT, TLS_KEY from the environment)`;

export type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };

export function parse(argv: string[], options: ParseArgsConfig["options"]): Parsed {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, ...options },
    allowPositionals: true,
    strict: true,
  });
  return { values: values as Parsed["values"], positionals };
}

/**
 * Runs one subcommand with the shared error handling. `service` and `addr` name the target in messages.
 */
export async function runCommand(
  name: string,
  usage: string,
  io: CommandIo,
  body: (target: { service: string; addr: string }) => Promise<number>,
): Promise<number> {
  const target = { service: "service", addr: "" };
  try {
    return await body(target);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (
      e instanceof UsageError ||
      e instanceof TlsArgsError ||
      (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))
    ) {
      io.err(`synthmri ${name}: ${(e as Error).message}\n${usage}`);
      return 2;
    }
    io.err(`synthmri ${name}: ${describeCallError(e, target.service, target.addr)}`);
    return 1;
  }
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)];
}

/** ISO time (seconds) of a protobuf Timestamp, or "". */
export function isoTime(t: { seconds: bigint; nanos: number } | undefined): string {
  if (!t) return "";
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Every item of a paged List call. */
export async function listAll<T>(
  page: (token: string) => Promise<{ items: T[]; nextPageToken: string }>,
  limit = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const r = await page(token);
    all.push(...r.items);
    token = r.nextPageToken;
  } while (token && all.length < limit);
  return all.slice(0, limit);
}
