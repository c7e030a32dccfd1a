// `synthmri models list|load|unload`: the segmenter's trained U-Nets.
import { createHash } from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import { ModelFormat, SegmenterService } from "@synthmri/contracts";
import { createClient } from "@synthmri/rpc";
import {
  COMMON_USAGE,
  type CommandIo,
  defaultIo,
  isoTime,
  listAll,
  parse,
  runCommand,
  table,
  UsageError,
} from "../connect/command-kit.js";
import { cliClientOptions, serviceAddress } from "../connect/service.js";

export const summary = "list, load and unload the trained U-Net models (segmenter service)";

const USAGE = `usage:
  synthmri models list [--loaded]
  synthmri models load ID [--version N]
  synthmri models unload ID [--version N]
  synthmri models export ID [--version N] [--format onnx|synthmri] --out FILE
                          ONNX (default) for onnxruntime, Triton, MONAI Deploy: input "input" [N,4,H,W] z-scored
                          T1, T1Gd, T2, FLAIR; output "logits" [N,4,H,W] (docs/SEGMENT.md)
${COMMON_USAGE}`;

export async function run(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    (sub ? io.out : io.err)(USAGE);
    return sub ? 0 : 2;
  }
  return runCommand("models", USAGE, io, async (target) => {
    const { values, positionals } = parse(rest, {
      loaded: { type: "boolean" },
      version: { type: "string" },
      format: { type: "string" },
      out: { type: "string" },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    target.service = "segmenter service";
    target.addr = serviceAddress("segmenter", values.addr as string | undefined, io.env);
    const client = createClient(SegmenterService, target.addr, cliClientOptions(values, io.env, 300_000));
    try {
      if (sub === "list") {
        if (positionals.length) throw new UsageError(`list takes no arguments, got ${positionals.join(" ")}`);
        const models = await listAll(async (pageToken) => {
          const r = await client.listModels({ loadedOnly: values.loaded === true, page: { pageToken } });
          return { items: r.models, nextPageToken: r.nextPageToken };
        });
        const rows = models.map((m) => ({
          id: m.id,
          version: m.version,
          name: m.name,
          run: m.run,
          datasets: m.sources.map((s) => s.datasetId),
          validationDice: m.validationDice,
          loaded: m.loaded,
          createdAt: isoTime(m.createdAt),
        }));
        if (values.json) io.out(JSON.stringify(rows, null, 1));
        else
          for (const line of table(
            ["ID", "VERSION", "NAME", "RUN", "LOADED", "DATASETS", "CREATED"],
            rows.map((r) => [
              r.id,
              String(r.version),
              r.name,
              String(r.run),
              r.loaded ? "yes" : "no",
              r.datasets.join(","),
              r.createdAt,
            ]),
          ))
            io.out(line);
        return 0;
      }
      const id = positionals[0];
      if (!id || positionals.length > 1) throw new UsageError(`${sub} takes one model ID`);
      const version = values.version === undefined ? 0 : Number(values.version);
      if (!Number.isInteger(version) || version < 0) throw new UsageError(`--version must be a non-negative integer`);
      if (sub === "load") {
        const r = await client.loadModel({ modelId: id, version });
        io.out(JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
        return 0;
      }
      if (sub === "export") {
        const formats: Record<string, ModelFormat> = { onnx: ModelFormat.ONNX, synthmri: ModelFormat.SYNTHMRI };
        const format = formats[String(values.format ?? "onnx")];
        if (format === undefined) throw new UsageError(`--format must be onnx or synthmri, got ${values.format}`);
        if (typeof values.out !== "string") throw new UsageError("export needs --out FILE");
        const r = await exportModel(client, id, version, format, values.out);
        io.out(
          values.json
            ? JSON.stringify(r)
            : `wrote ${values.out} (${r.name}, ${r.bytes} bytes, sha256 ${r.sha256.slice(0, 16)}..., verified)`,
        );
        return 0;
      }
      if (sub === "unload") {
        const r = await client.unloadModel({ modelId: id, version });
        io.out(values.json ? JSON.stringify({ unloaded: r.unloaded }) : `unloaded ${r.unloaded} model(s)`);
        return 0;
      }
      throw new UsageError(`unknown subcommand '${sub}'`);
    } finally {
      client.close();
    }
  });
}

/** Streams ExportModel into `out` (through a .part file), checking the size and sha256 the header announced. */
async function exportModel(
  client: ReturnType<typeof createClient<typeof SegmenterService.method>>,
  modelId: string,
  version: number,
  format: ModelFormat,
  out: string,
): Promise<{ name: string; bytes: number; sha256: string }> {
  let header: { name: string; size: bigint; sha256: string } | undefined;
  const parts: Uint8Array[] = [];
  let got = 0;
  for await (const m of client.exportModel({ modelId, version, format })) {
    const f = m.file?.frame;
    if (f?.case === "header") header = f.value;
    else if (f?.case === "chunk") {
      if (Number(f.value.offset) !== got) throw new Error(`chunk at offset ${f.value.offset}, expected ${got}`);
      parts.push(f.value.data);
      got += f.value.data.length;
    }
  }
  if (!header) throw new Error("the segmenter sent no file header");
  const data = Buffer.concat(parts);
  const sha256 = createHash("sha256").update(data).digest("hex");
  if (data.length !== Number(header.size) || sha256 !== header.sha256)
    throw new Error(
      `download of ${header.name} is corrupt (${data.length} of ${header.size} bytes, sha256 differs); run again`,
    );
  await writeFile(`${out}.part`, data);
  await rename(`${out}.part`, out);
  return { name: header.name, bytes: data.length, sha256 };
}
