// `synthmri segment --model ID --t1 F --t1ce F --t2 F --flair F --out seg.nii.gz [--addr host:port]
// [--labels brats2020|brats2023] [--tta] [--version N]`: segments one subject with a running segmenter
// service (SegmentVolume) and writes the label NIfTI on the input grid.
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { SegmenterService } from "@synthmri/contracts";
import { createClient } from "@synthmri/rpc";
import { describeCallError } from "../connect/errors.js";
import { segmentFolder } from "./segment-folder.js";
import { cliClientOptions, serviceAddress } from "../connect/service.js";
import { TLS_ARG_OPTIONS, TLS_USAGE, TlsArgsError } from "../connect/tls.js";
import { segmentVolumeRemote } from "@synthmri/segmenter";

export const summary = "segment one subject's four sequences into a label NIfTI with a trained model";

const USAGE =
  "usage: synthmri segment --model ID --t1 FILE --t1ce FILE --t2 FILE --flair FILE --out seg.nii.gz\n" +
  "       synthmri segment --model ID -i IN_DIR -o OUT_DIR [--overwrite]\n" +
  "                        every case of a BraTS-layout folder -> OUT_DIR/<case>.nii.gz (existing outputs skipped)\n" +
  "                        [--addr host:port (default SEGMENTER_ADDR or 127.0.0.1:SEGMENTER_PORT)]\n" +
  "                        [--labels brats2020|brats2023 (default brats2020)] [--tta] [--version N (default latest)]\n" +
  TLS_USAGE;

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: "string" },
        t1: { type: "string" },
        t1ce: { type: "string" },
        t2: { type: "string" },
        flair: { type: "string" },
        out: { type: "string" },
        input: { type: "string", short: "i" },
        output: { type: "string", short: "o" },
        overwrite: { type: "boolean", default: false },
        addr: { type: "string" },
        labels: { type: "string", default: "brats2020" },
        tta: { type: "boolean", default: false },
        version: { type: "string", default: "0" },
        ...TLS_ARG_OPTIONS,
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`synthmri segment: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const folder = values.input !== undefined || values.output !== undefined;
  if (folder && ["t1", "t1ce", "t2", "flair", "out"].some((k) => values[k] !== undefined)) {
    console.error(`synthmri segment: -i/-o (a folder of cases) and --t1 ... --out (one case) do not mix\n${USAGE}`);
    return 2;
  }
  const missing = (folder ? ["model", "input", "output"] : ["model", "t1", "t1ce", "t2", "flair", "out"]).filter(
    (k) => !values[k],
  );
  if (missing.length) {
    console.error(`synthmri segment: missing --${missing.join(", --")}\n${USAGE}`);
    return 2;
  }
  const labels = String(values.labels);
  if (labels !== "brats2020" && labels !== "brats2023") {
    console.error(`synthmri segment: --labels must be brats2020 or brats2023, got ${labels}`);
    return 2;
  }
  const version = Number(values.version);
  if (!Number.isInteger(version) || version < 0) {
    console.error(`synthmri segment: --version must be a non-negative integer, got ${values.version}`);
    return 2;
  }
  const addr = serviceAddress("segmenter", values.addr as string | undefined);
  let options: ReturnType<typeof cliClientOptions>;
  try {
    options = cliClientOptions(values);
  } catch (e) {
    if (!(e instanceof TlsArgsError)) throw e;
    console.error(`synthmri segment: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (folder) {
    const client = createClient(SegmenterService, addr, options);
    try {
      const opts = { version, tta: Boolean(values.tta), scheme: labels as "brats2020" | "brats2023" };
      const r = await segmentFolder({
        inDir: String(values.input),
        outDir: String(values.output),
        overwrite: values.overwrite === true,
        segment: (files) => segmentVolumeRemote(client, String(values.model), files, opts),
        describeError: (e) => describeCallError(e, "segmenter service", addr),
      });
      console.log(
        `${r.written.length} written, ${r.skipped.length} skipped (output exists), ${r.failed.length} failed into ${values.output} in ${r.seconds.toFixed(1)} s`,
      );
      for (const f of r.failed) console.log(`  failed ${f.name}: ${f.reason}`);
      return r.failed.length ? 1 : 0;
    } catch (e) {
      console.error(`synthmri segment: ${describeCallError(e, "segmenter service", addr)}`);
      return 1;
    } finally {
      client.close();
    }
  }
  const files: Record<string, { name: string; bytes: Uint8Array }> = {};
  for (const role of ["t1", "t1ce", "t2", "flair"]) {
    const path = String(values[role]);
    try {
      files[role] = { name: basename(path), bytes: readFileSync(path) };
    } catch (e) {
      console.error(`synthmri segment: cannot read --${role} ${path}: ${(e as Error).message}`);
      return 2;
    }
  }
  const client = createClient(SegmenterService, addr, options);
  try {
    const t0 = Date.now();
    const r = await segmentVolumeRemote(client, String(values.model), files, {
      version,
      tta: Boolean(values.tta),
      scheme: labels,
    });
    writeFileSync(String(values.out), r.nifti);
    const counts = Object.entries(r.labelVoxels)
      .map(([k, v]) => `${k}: ${v}`)
      .join(", ");
    console.log(
      `wrote ${values.out} (model ${r.modelId} v${r.version}, labels ${labels}; voxels ${counts}; inference ${r.inferenceSeconds.toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return 0;
  } catch (e) {
    console.error(`synthmri segment: ${describeCallError(e, "segmenter service", addr)}`);
    return 1;
  } finally {
    client.close();
  }
}
