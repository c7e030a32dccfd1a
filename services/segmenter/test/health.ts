import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const require = createRequire(import.meta.url);

/** grpc.health.v1 Check over a plain grpc-js client. */
export async function healthStatus(address: string, service: string): Promise<string> {
  const def = protoLoader.loadSync(require.resolve("grpc-health-check/proto/health/v1/health.proto"), {
    keepCase: true,
    enums: String,
  });
  const pkg = grpc.loadPackageDefinition(def);
  const Health = (((pkg.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject)
    .Health as grpc.ServiceClientConstructor;
  const client = new Health(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      client.Check({ service }, (err: grpc.ServiceError | null, res: { status: string }) =>
        err ? reject(err) : resolve(res.status),
      ),
    );
  } finally {
    client.close();
  }
}
