// Bundles the browser code (web/main.ts with the protobuf-es contracts, connect-web and niivue) with
// esbuild once per server start, in memory: nothing generated is committed and a fresh clone just runs.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "web");

export async function bundleWeb(): Promise<{ js: Uint8Array; css: Uint8Array }> {
  const result = await build({
    entryPoints: [join(WEB_DIR, "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    write: false,
    outdir: "out",
    logLevel: "silent",
    loader: { ".css": "css" },
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const css = result.outputFiles.find((f) => f.path.endsWith(".css"));
  if (!js) throw new Error("esbuild produced no JavaScript for the console");
  return { js: js.contents, css: css?.contents ?? new Uint8Array(0) };
}
