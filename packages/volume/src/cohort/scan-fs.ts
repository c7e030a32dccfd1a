// The one filesystem helper of this package: list a cohort directory's files for listCohort().
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";

/** Every file under `root`, as paths relative to it with "/" separators, sorted. */
export async function scanDirectory(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(relative(root, p).split("\\").join("/"));
    }
  }
  await walk(root);
  return out.sort();
}
