// Reads a file listed in an evaluator report from the object store, so that the experiments page can show
// the report's figures. Only names the report lists are served: the console never browses the store.
import { Code, ConnectError } from "@connectrpc/connect";
import { EvaluatorService } from "@synthmri/contracts";
import type { ObjectStore } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { toConnectError } from "./forward.js";

const TYPES: Record<string, string> = {
  png: "image/png",
  svg: "image/svg+xml",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
};

export interface ReportFiles {
  read(reportId: string, name: string): Promise<{ contentType: string; data: Uint8Array }>;
  close(): void;
}

export function reportFiles(evaluatorAddress: string, store: ObjectStore): ReportFiles {
  const evaluator = createClient(EvaluatorService, evaluatorAddress, { defaultDeadlineMs: 30_000 });
  return {
    async read(reportId, name) {
      if (!name) throw new ConnectError("name the report file (e.g. figures/swd.png)", Code.InvalidArgument);
      let files: Array<{ key: string; contentType: string }>;
      try {
        files = (await evaluator.getReport({ reportId })).report?.files ?? [];
      } catch (e) {
        throw toConnectError(e);
      }
      const ref = files.find((f) => f.key === name || f.key.endsWith(`/${name}`));
      if (!ref) {
        throw new ConnectError(
          `report ${reportId} lists no file ${name} (it lists ${files.map((f) => f.key.split("/").pop()).join(", ")})`,
          Code.InvalidArgument,
        );
      }
      const ext = ref.key.split(".").pop() ?? "";
      const data = await store.getBuffer(ref.key);
      return { contentType: ref.contentType || TYPES[ext] || "application/octet-stream", data };
    },
    close() {
      evaluator.close();
    },
  };
}
