// The de-identification salt: DEID_SALT when given, otherwise a random one created once per data dir and
// kept there (mode 0600) so pseudonyms stay stable across restarts of the same installation.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "./config.js";

export async function ensureDeidSalt(config: Pick<Config, "deidSalt" | "dataDir">): Promise<string> {
  if (config.deidSalt) return config.deidSalt;
  const file = join(config.dataDir, "deid-salt");
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 16) return existing;
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT") throw err;
  }
  await mkdir(config.dataDir, { recursive: true });
  const salt = randomBytes(32).toString("hex");
  try {
    // "wx": if another process created it first, use theirs.
    await writeFile(file, `${salt}\n`, { mode: 0o600, flag: "wx" });
    return salt;
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return (await readFile(file, "utf8")).trim();
    throw err;
  }
}
