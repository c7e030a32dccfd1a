// Small typed parsers for environment values; each throws ConfigError naming the variable.
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
