// Regenerates packages/platform/CONFIG.md from the documented config table (src/config/docs.ts).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigMarkdown } from "../src/config/docs.js";

const target = fileURLToPath(new URL("../CONFIG.md", import.meta.url));
writeFileSync(target, renderConfigMarkdown());
process.stdout.write(`wrote ${target}\n`);
