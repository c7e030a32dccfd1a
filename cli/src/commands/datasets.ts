// `synthmri datasets list|show|delete`: the ingest service's datasets (real cohorts and synthetic sets).
import { IngestService, Origin } from "@synthmri/contracts";
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

export const summary = "list, show and delete the datasets in the object store (ingest service)";

const USAGE = `usage:
  synthmri datasets list [--origin real|synthetic]
  synthmri datasets show ID
  synthmri datasets delete ID [--yes]     asks first on a terminal; --yes to delete without asking
${COMMON_USAGE}`;

const ORIGINS: Record<string, Origin> = { real: Origin.REAL, synthetic: Origin.SYNTHETIC };

export async function run(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    (sub ? io.out : io.err)(USAGE);
    return sub ? 0 : 2;
  }
  return runCommand("datasets", USAGE, io, async (target) => {
    const { values, positionals } = parse(rest, { origin: { type: "string" }, yes: { type: "boolean" } });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    target.service = "ingest service";
    target.addr = serviceAddress("ingest", values.addr as string | undefined, io.env);
    const client = createClient(IngestService, target.addr, cliClientOptions(values, io.env));
    try {
      if (sub === "list") {
        if (positionals.length) throw new UsageError(`list takes no arguments, got ${positionals.join(" ")}`);
        const origin = values.origin === undefined ? Origin.UNSPECIFIED : ORIGINS[String(values.origin)];
        if (origin === undefined) throw new UsageError(`--origin must be real or synthetic, got ${values.origin}`);
        const datasets = await listAll(async (pageToken) => {
          const r = await client.listDatasets({ origin, page: { pageToken } });
          return { items: r.datasets, nextPageToken: r.nextPageToken };
        });
        if (values.json) {
          io.out(
            JSON.stringify(
              datasets.map((d) => ({
                id: d.id,
                name: d.name,
                origin: Origin[d.origin]?.toLowerCase(),
                trainSlices: d.trainSlices,
                testSlices: d.testSlices,
                sliceShape: d.sliceShape,
                createdAt: isoTime(d.createdAt),
              })),
              null,
              1,
            ),
          );
        } else {
          for (const line of table(
            ["ID", "NAME", "ORIGIN", "TRAIN", "TEST", "SHAPE", "CREATED"],
            datasets.map((d) => [
              d.id,
              d.name,
              (Origin[d.origin] ?? "").toLowerCase(),
              String(d.trainSlices),
              String(d.testSlices),
              d.sliceShape.join("x"),
              isoTime(d.createdAt),
            ]),
          ))
            io.out(line);
        }
        return 0;
      }
      const id = positionals[0];
      if (!id || positionals.length > 1) throw new UsageError(`${sub} takes one dataset ID`);
      if (sub === "show") {
        const { dataset } = await client.getDataset({ datasetId: id, includeSubjects: false });
        io.out(JSON.stringify(dataset, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 1));
        return 0;
      }
      if (sub === "delete") {
        if (!values.yes) {
          // Fails with NOT_FOUND before asking, so nobody confirms the deletion of a mistyped id.
          await client.getDataset({ datasetId: id, includeSubjects: false });
          if (!io.confirm) throw new UsageError(`refusing to delete dataset ${id} without --yes (no terminal to ask)`);
          if (!(await io.confirm(`delete dataset ${id} and all its objects?`))) {
            io.err("not deleted");
            return 1;
          }
        }
        const r = await client.deleteDataset({ datasetId: id });
        io.out(
          values.json
            ? JSON.stringify({ datasetId: id, objectsDeleted: r.objectsDeleted })
            : `deleted dataset ${id} (${r.objectsDeleted} objects)`,
        );
        return 0;
      }
      throw new UsageError(`unknown subcommand '${sub}'`);
    } finally {
      client.close();
    }
  });
}
