// Chooses the object store from config: S3_ENDPOINT when set, otherwise the embedded s3rver under the data dir.
import type { Config } from "../config/config.js";
import type { Logger } from "@synthmri/core";
import { instrumentObjectStore } from "../metrics/store-metrics.js";
import { processMetricsRegistry } from "../metrics/registry.js";
import { startEmbeddedS3 } from "./embedded-s3.js";
import { MinioObjectStore } from "./minio-object-store.js";

export interface OpenedObjectStore {
  store: MinioObjectStore;
  /** The embedded server's endpoint when one was started (other processes can share it). */
  embeddedEndpoint: string | undefined;
  /**
   * Environment for child processes (training children) that must reach this same store: the embedded
   * server's endpoint and credentials when one was started here, else nothing (they inherit S3_*).
   */
  childEnv: Record<string, string>;
  /** Stops the embedded server, if this call started one. */
  close(): Promise<void>;
}

export async function openObjectStore(
  config: Pick<Config, "s3" | "dataDir">,
  logger: Logger,
  options: { partSize?: number } = {},
): Promise<OpenedObjectStore> {
  const { s3 } = config;
  if (s3.endpoint) {
    const store = new MinioObjectStore({
      endpoint: s3.endpoint,
      accessKey: s3.accessKey ?? "",
      secretKey: s3.secretKey ?? "",
      bucket: s3.bucket,
      region: s3.region,
      partSize: options.partSize,
    });
    await store.ensureBucket();
    logger.info("object store connected", { endpoint: s3.endpoint, bucket: s3.bucket });
    return { store: counted(store), embeddedEndpoint: undefined, childEnv: {}, close: async () => {} };
  }
  const embedded = await startEmbeddedS3({ dataDir: config.dataDir, port: 0 });
  const store = new MinioObjectStore({
    endpoint: embedded.endpoint,
    accessKey: embedded.accessKey,
    secretKey: embedded.secretKey,
    bucket: s3.bucket,
    region: embedded.region,
    partSize: options.partSize,
  });
  try {
    await store.ensureBucket();
  } catch (err) {
    await embedded.close();
    throw err;
  }
  logger.info("embedded object store started", { endpoint: embedded.endpoint, bucket: s3.bucket });
  return {
    store: counted(store),
    embeddedEndpoint: embedded.endpoint,
    childEnv: {
      S3_ENDPOINT: embedded.endpoint,
      S3_ACCESS_KEY: embedded.accessKey,
      S3_SECRET_KEY: embedded.secretKey,
      S3_BUCKET: s3.bucket,
      S3_REGION: embedded.region,
    },
    close: () => embedded.close(),
  };
}

/** Object-store errors show up on the service's /metrics (synthmri_object_store_errors_total). */
function counted(store: MinioObjectStore): MinioObjectStore {
  return instrumentObjectStore(store, processMetricsRegistry());
}
