// `synthmri models list|load|unload`: the segmenter's trained U-Nets.
import { SegmenterService } from "@synthmri/contracts";
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
${COMMON_USAGE}`;

export async function run(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    (sub ? io.out : io.err)(USAGE);
    return sub ? 0 : 2;
  }
  return runCommand("models", USAGE, io, async (target) => {
    const { values, positionals } = parse(rest, { loaded: { type: "boolean" }, version: { type: "string" } });
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
