// A cohort in a directory of the ingest server's file system.
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { InvalidInput, NotFound, PermissionDenied } from "@synthmri/platform";
import { scanDirectory } from "@synthmri/volume";
import { type CohortSource, MAX_SOURCE_FILE_BYTES } from "../domain/cohort-source.js";

/** `allowFile`: whether a file (symlinks resolved by the caller) may be read; refused files fail the import. */
export async function openDirectorySource(path: string, allowFile?: (path: string) => boolean): Promise<CohortSource> {
  if (!path) throw new InvalidInput("local_path is empty; give the cohort directory on the ingest server");
  if (!isAbsolute(path))
    throw new InvalidInput(`local_path "${path}" must be absolute (it is read on the ingest server)`);
  const root = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch {
    throw new NotFound(`directory ${root} does not exist on the ingest server`);
  }
  if (!info.isDirectory()) throw new InvalidInput(`${root} is not a directory`);
  return {
    description: `directory ${root}`,
    list: () => scanDirectory(root),
    async read(rel) {
      const p = join(root, rel);
      const s = await stat(p).catch(() => undefined);
      if (!s) throw new NotFound(`${rel}: file vanished from ${root} during the import`);
      if (allowFile && !allowFile(p)) {
        throw new PermissionDenied(`${rel}: links outside the directories this server may import from (IMPORT_ROOTS)`);
      }
      if (s.size > MAX_SOURCE_FILE_BYTES) {
        throw new InvalidInput(
          `${rel}: ${s.size} bytes is larger than the ${MAX_SOURCE_FILE_BYTES}-byte limit for one file`,
        );
      }
      return new Uint8Array(await readFile(p));
    },
  };
}
