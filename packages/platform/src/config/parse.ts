// Small typed parsers for environment values; each throws ConfigError naming the variable.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "./config-error.js";

export type Env = Record<string, string | undefined>;

export function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

export function int(env: Env, name: string, def: number, min: number, max: number): number {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(name, `"${v}" is not an integer between ${min} and ${max}`);
  }
  return Number(v);
}

export function port(env: Env, name: string, def: number): number {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || Number(v) > 65535)
    throw new ConfigError(name, `"${v}" is not a port (0-65535; 0 = any free port)`);
  return Number(v);
}

export function optionalPort(env: Env, name: string): number | undefined {
  return raw(env, name) === undefined ? undefined : port(env, name, 0);
}

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];
export function bool(env: Env, name: string, def: boolean): boolean {
  const v = raw(env, name);
  if (v === undefined) return def;
  const l = v.toLowerCase();
  if (TRUE.includes(l)) return true;
  if (FALSE.includes(l)) return false;
  throw new ConfigError(name, `"${v}" is not a boolean (true|false|1|0|yes|no|on|off)`);
}

export function oneOf<T extends string>(env: Env, name: string, values: readonly T[], def: T): T {
  const v = raw(env, name);
  if (v === undefined) return def;
  if (!(values as readonly string[]).includes(v))
    throw new ConfigError(name, `"${v}" is not one of ${values.join("|")}`);
  return v as T;
}

export function hostPort(env: Env, name: string, def: string | undefined): string | undefined {
  const v = raw(env, name);
  if (v === undefined) return def;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new ConfigError(name, `"${v}" is not host:port (e.g. 127.0.0.1:50051, ingest:50051, [::1]:50051)`);
  }
  return v;
}

/**
 * A secret given inline (NAME) or, as Docker/Kubernetes secrets are mounted, as a file (NAME_FILE: the file's
 * content, trimmed). Setting both is an error rather than a silent precedence rule.
 */
export function secret(env: Env, name: string, cwd: string): string | undefined {
  const inline = raw(env, name);
  const fileVar = `${name}_FILE`;
  const file = raw(env, fileVar);
  if (file === undefined) return inline;
  if (inline !== undefined) throw new ConfigError(fileVar, `is set together with ${name}; set only one of them`);
  const path = resolve(cwd, file);
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      fileVar,
      `cannot read "${path}" (${code ?? (e as Error).message}); mount the secret file there`,
    );
  }
  const value = content.trim();
  if (value === "") throw new ConfigError(fileVar, `file "${path}" is empty`);
  return value;
}
