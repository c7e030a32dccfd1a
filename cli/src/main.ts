// `synthmri` command: one entry, subcommands loaded lazily so that `synthmri nifti info` does not pay for tfjs.
// Each command module exports `run(argv: string[]): Promise<number>` (the exit code) and `summary`.

type CommandModule = { run(argv: string[]): Promise<number>; summary?: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  start: () => import("./commands/start.js"),
  nifti: () => import("./commands/nifti.js"),
  phantom: () => import("./commands/phantom.js"),
  ingest: () => import("./commands/ingest.js"),
  experiment: () => import("./commands/experiment.js"),
  segment: () => import("./commands/segment.js"),
  partner: () => import("./commands/partner.js"),
  console: () => import("./commands/console.js"),
};

function usage(): string {
  return `usage: synthmri <command> [options]\n\ncommands:\n${Object.keys(commands)
    .map((c) => `  ${c}`)
    .join("\n")}\n\nRun 'synthmri <command> --help' for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`synthmri: unknown command '${name}'.\n${usage()}`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = await load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") {
      console.error(`synthmri: command '${name}' is not available in this build.`);
      return 2;
    }
    throw e;
  }
  return mod.run(rest);
}

const isEntry = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isEntry || process.env.SYNTHMRI_CLI_ENTRY === "1") {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`synthmri: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
