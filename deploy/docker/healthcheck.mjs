// Container health check over the standard gRPC health protocol (grpc.health.v1.Health/Check).
// The port is the service's own (from SERVICE + *_PORT variables), or HOST:PORT arguments; exit 0 only when SERVING.
import grpc from "@grpc/grpc-js";
import { protoPath } from "grpc-health-check";
import protoLoader from "@grpc/proto-loader";

const defaults = { ingest: 50051, generator: 50052, segmenter: 50053, evaluator: 50054 };
const service = process.env.SERVICE ?? "ingest";
const port = Number(process.env[`${service.toUpperCase()}_PORT`] ?? defaults[service] ?? 50051);
const tls = process.env.TLS_CERT && process.env.TLS_KEY;
const creds = tls
  ? grpc.credentials.createSsl(
      process.env.TLS_CA ? (await import("node:fs")).readFileSync(process.env.TLS_CA) : undefined,
      (await import("node:fs")).readFileSync(process.env.TLS_KEY),
      (await import("node:fs")).readFileSync(process.env.TLS_CERT),
      { checkServerIdentity: () => undefined },
    )
  : grpc.credentials.createInsecure();

// enums as names, so the answer reads "SERVING" (the default would be the number 1).
const def = protoLoader.loadSync(protoPath, { enums: String });
const health = grpc.loadPackageDefinition(def).grpc.health.v1;

// No arguments: this container's own service. With HOST:PORT arguments (the Helm test pod): each of them, with
// this pod's certificate and the chart's CA; exit 0 only when every one is SERVING.
// "localhost", not 127.0.0.1: TLS sends the target as server name, and an IP address there is not allowed
// (the certificate's names are not checked: the CA is, and for the own container it is this very container).
const targets = process.argv.slice(2);
const check = (target) =>
  new Promise((resolve) => {
    const client = new health.Health(target, creds);
    client.check({ service: "" }, { deadline: Date.now() + 4000 }, (err, res) => {
      client.close();
      resolve(err ? err.message : res.status);
    });
  });
const results = await Promise.all((targets.length ? targets : [`localhost:${port}`]).map(async (t) => [t, await check(t)]));
let healthy = true;
for (const [target, status] of results) {
  if (status !== "SERVING") healthy = false;
  if (targets.length || status !== "SERVING") console[status === "SERVING" ? "log" : "error"](`${status === "SERVING" ? "healthy" : "unhealthy"}: ${targets.length ? `${target} ` : ""}${status}`);
}
process.exit(healthy ? 0 : 1);
