// deploy/README.md's runbook, executed: scripts/runbook.sh starts the services' production entrypoints with mTLS
// (compose where a docker daemon and the images are there), then runs the README's runbook:commands block verbatim
// (ingest a phantom cohort -> experiment -> load and export a model, segment a folder -> a partner lists the
// generators, requests from a certified one, downloads and fetches the archive with the partner kit). The first
// test keeps the text and the script in step: the script sets exactly the variables the README's settings block
// sets, and the commands use no variable that neither sets. Issue 19.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = join(ROOT, "scripts/runbook.sh");
const README = readFileSync(join(ROOT, "deploy/README.md"), "utf8");

function readmeBlock(name: string): string {
  const m = new RegExp(`<!-- runbook:${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- runbook:end -->`).exec(README);
  if (!m) throw new Error(`deploy/README.md has no runbook:${name} block`);
  return m[1];
}

/** Names assigned (NAME=...) outside comments, `export A=1 B=2` included. */
function assigned(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const code = line.replace(/(^|\s)#.*$/, "");
    for (const m of code.matchAll(/(?:^|[\s;(])([A-Za-z_][A-Za-z0-9_]*)=/g)) names.add(m[1]);
  }
  return names;
}

function used(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n"))
    for (const m of line.replace(/(^|\s)#.*$/, "").matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]);
  return names;
}

function scriptSettings(): string {
  const text = readFileSync(SCRIPT, "utf8");
  const m = /# runbook:settings:begin\n([\s\S]*?)# runbook:settings:end/.exec(text);
  if (!m) throw new Error("scripts/runbook.sh has no runbook:settings:begin/end section");
  return m[1];
}

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}
const PYTHON_GRPC = ["/usr/bin/python3", "python3"].some((p) => has(p, ["-c", "import grpc, google.protobuf"]));
const MISSING = [
  ...(has("jq", ["--version"]) ? [] : ["jq"]),
  ...(has("openssl", ["version"]) ? [] : ["openssl"]),
  ...(PYTHON_GRPC ? [] : ["python3 with grpc and protobuf (apt-get install python3-grpcio python3-protobuf)"]),
];
if (MISSING.length) console.warn(`runbook.test: the run is skipped, missing: ${MISSING.join(", ")}`);

describe("deploy/README.md runbook", () => {
  it("the script sets the README's settings, and the commands use nothing else", () => {
    const readme = assigned(readmeBlock("settings"));
    const script = assigned(scriptSettings());
    expect([...script].sort()).toEqual([...readme].sort());
    const commands = readmeBlock("commands");
    const unknown = [...used(commands)].filter((v) => !readme.has(v) && !assigned(commands).has(v));
    expect(unknown, "variables the runbook commands use but neither block sets").toEqual([]);
    // The script executes the README's block, not a copy of it.
    const printed = spawnSync("bash", [SCRIPT, "--print-block", "commands"], { encoding: "utf8" });
    expect(printed.stdout).toBe(commands);
  });

  it.skipIf(MISSING.length > 0)(
    "runs from a cohort to a partner's download against the production entrypoints over mTLS",
    async () => {
      const child = spawn("bash", [SCRIPT], { cwd: ROOT, env: { ...process.env }, stdio: ["ignore", "pipe", "pipe"] });
      let log = "";
      child.stdout.on("data", (d) => (log += d));
      child.stderr.on("data", (d) => (log += d));
      const code = await new Promise<number | null>((done) => child.on("close", done));
      expect(code, log.slice(-6000)).toBe(0);
      expect(log).toMatch(/runbook: ok \(dataset \S+, model \S+, ensemble ens-\S+, bundle pb-\S+\)/);
    },
    1_500_000,
  );
});
