// The documented configuration surface. CONFIG.md is generated from this table (npm run config:docs -w
// @synthmri/platform) and a test fails when it is stale or when loadConfig reads a variable not listed here.

export interface ConfigDoc {
  name: string;
  default: string;
  meaning: string;
}

const SERVICES = [
  ["INGEST", 50051, "ingest"],
  ["GENERATOR", 50052, "generator"],
  ["SEGMENTER", 50053, "segmenter"],
  ["EVALUATOR", 50054, "evaluator"],
] as const;

const DOCS: ConfigDoc[] = [
  { name: "HOST", default: "127.0.0.1", meaning: "Interface the gRPC servers bind (0.0.0.0 in containers)." },
  ...SERVICES.map(([p, port, s]) => ({
    name: `${p}_PORT`,
    default: String(port),
    meaning: `Port of the ${s} service; 0 picks a free port.`,
  })),
  ...SERVICES.map(([p, port, s]) => ({
    name: `${p}_ADDR`,
    default: `127.0.0.1:${port} (HOST:${p}_PORT)`,
    meaning: `Where clients reach the ${s} service (host:port).`,
  })),
  {
    name: "SYNTHMRI_DATA_DIR",
    default: ".data (under the working directory)",
    meaning: "Local state: embedded object store, de-identification salt.",
  },
  {
    name: "S3_ENDPOINT",
    default: "(unset: embedded s3rver)",
    meaning:
      "S3/MinIO endpoint, http(s)://host:port or host:port; unset starts an in-process store under SYNTHMRI_DATA_DIR/s3.",
  },
  { name: "S3_ACCESS_KEY", default: "(required with S3_ENDPOINT)", meaning: "Access key for S3_ENDPOINT." },
  { name: "S3_SECRET_KEY", default: "(required with S3_ENDPOINT)", meaning: "Secret key for S3_ENDPOINT." },
  {
    name: "S3_ACCESS_KEY_FILE",
    default: "(unset)",
    meaning: "File holding S3_ACCESS_KEY (a mounted secret; content trimmed); not together with S3_ACCESS_KEY.",
  },
  {
    name: "S3_SECRET_KEY_FILE",
    default: "(unset)",
    meaning: "File holding S3_SECRET_KEY (a mounted secret; content trimmed); not together with S3_SECRET_KEY.",
  },
  { name: "S3_BUCKET", default: "synthmri", meaning: "Bucket holding every artifact and job status." },
  { name: "S3_REGION", default: "us-east-1", meaning: "Region of the bucket." },
  { name: "S3_USE_SSL", default: "false", meaning: "Use https when S3_ENDPOINT has no scheme." },
  { name: "LOG_LEVEL", default: "info", meaning: "debug|info|warn|error|silent; logs are JSON lines on stderr." },
  {
    name: "TF_BACKEND",
    default: "auto",
    meaning: "auto|tensorflow-gpu|tensorflow|wasm|cpu; auto picks the fastest that loads.",
  },
  {
    name: "GRPC_MAX_MESSAGE_BYTES",
    default: "8388608 (8 MiB)",
    meaning: "Largest gRPC message sent or received; tensors travel as chunked streams.",
  },
  {
    name: "GRPC_SHUTDOWN_GRACE_MS",
    default: "10000",
    meaning: "On SIGTERM, how long in-flight calls may finish before they are cancelled.",
  },
  {
    name: "GRPC_CLIENT_STREAM_IDLE_MS",
    default: "60000",
    meaning:
      "A client stream (UploadSubject, ...) that sends no message for this long is ended with DEADLINE_EXCEEDED and its partial upload discarded.",
  },
  {
    name: "IMPORT_ROOTS",
    default: "SYNTHMRI_DATA_DIR",
    meaning:
      "Directories (separated by `:`) that ImportDirectory.local_path may read, symlinks resolved; any other path gets PERMISSION_DENIED before anything is listed.",
  },
  {
    name: "IMPORT_S3_PREFIXES",
    default: "S3_BUCKET/imports/",
    meaning:
      "Comma-separated `bucket/prefix` entries that ImportDirectory.s3_prefix may read (an empty bucket means S3_BUCKET); anything else gets PERMISSION_DENIED before listing.",
  },
  {
    name: "TLS_CERT",
    default: "(unset: plaintext)",
    meaning: "PEM certificate file of this server/client; needs TLS_KEY.",
  },
  { name: "TLS_KEY", default: "(unset)", meaning: "PEM private key file matching TLS_CERT." },
  { name: "TLS_CA", default: "(unset)", meaning: "PEM CA bundle that peers' certificates must chain to." },
  {
    name: "TLS_CLIENT_AUTH",
    default: "false",
    meaning: "Require client certificates (mTLS); needs TLS_CERT, TLS_KEY and TLS_CA.",
  },
  {
    name: "DEID_SALT",
    default: "(random, persisted in SYNTHMRI_DATA_DIR/deid-salt)",
    meaning: "Secret salt for pseudonymising subject ids; at least 16 characters.",
  },
  {
    name: "DEID_SALT_FILE",
    default: "(unset)",
    meaning: "File holding DEID_SALT (a mounted secret; content trimmed); not together with DEID_SALT.",
  },
  {
    name: "KEEP_ID_MAPPING",
    default: "false",
    meaning: "Keep the original-id -> pseudonym table (stays inside the hospital).",
  },
  {
    name: "PARTNER_TOKENS_FILE",
    default: "(unset: partner API off)",
    meaning: "File of partner bearer tokens (hashed), scopes and quotas; set, the generator opens PARTNER_PORT.",
  },
  {
    name: "PARTNER_PORT",
    default: "50055",
    meaning:
      "Generator's partner listener: PartnerService and the partner's own jobs only, every call token-authenticated; must differ from GENERATOR_PORT; 0 picks a free port.",
  },
  {
    name: "PARTNER_PUBLIC_S3_ENDPOINT",
    default: "(unset: S3_ENDPOINT)",
    meaning:
      "Object-store address partners can reach (http(s)://host[:port]); GetDownloadUrl signs presigned URLs for it (the signature covers the host). Same bucket and keys as S3_ENDPOINT.",
  },
  {
    name: "METRICS_PORT",
    default: "(unset: no metrics endpoint)",
    meaning: "Port of the Prometheus /metrics endpoint; 0 picks a free port.",
  },
  {
    name: "JOB_CONCURRENCY",
    default: "1",
    meaning: "How many long jobs (training, ingest, evaluation) one service runs at once.",
  },
  {
    name: "TRAIN_PROCESSES",
    default: "0 (train inside the service process)",
    meaning:
      "Most training child processes the generator (GAN members) and the segmenter (U-Net runs) run at once, each on its own core; `npm start` uses 2.",
  },
];

export function configDocs(): ConfigDoc[] {
  return DOCS.map((d) => ({ ...d }));
}

export function renderConfigMarkdown(): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const rows = DOCS.map((d) => `| \`${d.name}\` | ${esc(d.default)} | ${esc(d.meaning)} |`);
  return [
    "# synthmri configuration",
    "",
    "Every service, the CLI and `npm start` read these environment variables (`loadConfig` in `@synthmri/platform`).",
    "A bad value stops the process with one line naming the variable and exit status 2.",
    "Generated from `packages/platform/src/config/docs.ts` by `npm run config:docs -w @synthmri/platform`; do not edit by hand.",
    "",
    "| Variable | Default | Meaning |",
    "| --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}
