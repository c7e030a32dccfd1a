// `synthmri ensembles list|show`: the generator's trained GAN ensembles.
import { GanFamily, GeneratorService, JobState } from "@synthmri/contracts";
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

export const summary = "list and show the trained GAN ensembles (generator service)";

const USAGE = `usage:
  synthmri ensembles list [--dataset ID]
  synthmri ensembles show ID
${COMMON_USAGE}`;

export async function run(argv: string[], io: CommandIo = defaultIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    (sub ? io.out : io.err)(USAGE);
    return sub ? 0 : 2;
  }
  return runCommand("ensembles", USAGE, io, async (target) => {
    const { values, positionals } = parse(rest, { dataset: { type: "string" } });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    target.service = "generator service";
    target.addr = serviceAddress("generator", values.addr as string | undefined, io.env);
    const client = createClient(GeneratorService, target.addr, cliClientOptions(values, io.env));
    try {
      if (sub === "list") {
        if (positionals.length) throw new UsageError(`list takes no arguments, got ${positionals.join(" ")}`);
        const ensembles = await listAll(async (pageToken) => {
          const r = await client.listEnsembles({
            datasetId: (values.dataset as string | undefined) ?? "",
            page: { pageToken },
          });
          return { items: r.ensembles, nextPageToken: r.nextPageToken };
        });
        const rows = ensembles.map((e) => ({
          id: e.id,
          name: e.name,
          family: (GanFamily[e.family] ?? "PGAN").toLowerCase(),
          datasetId: e.datasetId,
          members: e.members.length,
          succeeded: e.members.filter((m) => m.state === JobState.SUCCEEDED).length,
          createdAt: isoTime(e.createdAt),
        }));
        if (values.json) io.out(JSON.stringify(rows, null, 1));
        else
          for (const line of table(
            ["ID", "NAME", "FAMILY", "DATASET", "MEMBERS", "CREATED"],
            rows.map((r) => [r.id, r.name, r.family, r.datasetId, `${r.succeeded}/${r.members}`, r.createdAt]),
          ))
            io.out(line);
        return 0;
      }
      if (sub === "show") {
        const id = positionals[0];
        if (!id || positionals.length > 1) throw new UsageError("show takes one ensemble ID");
        const { ensemble } = await client.getEnsemble({ ensembleId: id });
        io.out(JSON.stringify(ensemble, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 1));
        return 0;
      }
      throw new UsageError(`unknown subcommand '${sub}'`);
    } finally {
      client.close();
    }
  });
}
