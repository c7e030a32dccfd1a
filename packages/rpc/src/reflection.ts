// Server reflection (grpc.reflection.v1 and v1alpha) from the protobuf-es embedded file descriptors.
import { createRequire } from "node:module";
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import type { PackageDefinition } from "@grpc/proto-loader";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";

const require = createRequire(import.meta.url);

/** Every file the given services need, dependencies first, each once. */
export function filesOf(services: readonly DescService[]): DescFile[] {
  const out: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    for (const d of f.dependencies) visit(d);
    out.push(f);
  };
  for (const s of services) visit(s.file);
  return out;
}

/**
 * A proto-loader style PackageDefinition: what @grpc/reflection reads is `fileDescriptorProtos` (serialized
 * FileDescriptorProto of the file and everything it depends on) on each entry.
 */
export function packageDefinitionOf(services: readonly DescService[]): PackageDefinition {
  const files = filesOf(services).map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  const def: PackageDefinition = {};
  for (const s of services) {
    def[s.typeName] = { format: "Protocol Buffer 3 DescriptorProto", type: {}, fileDescriptorProtos: files } as never;
  }
  return def;
}

/** Health's own descriptors, so reflection clients can see grpc.health.v1.Health too. */
function healthPackageDefinition(): PackageDefinition {
  const healthProto = require.resolve("grpc-health-check/proto/health/v1/health.proto");
  return protoLoader.loadSync(healthProto, { keepCase: true });
}

export function addReflection(server: grpc.Server, services: readonly DescService[]): void {
  const def = { ...healthPackageDefinition(), ...packageDefinitionOf(services) };
  new ReflectionService(def).addToServer(server);
}
