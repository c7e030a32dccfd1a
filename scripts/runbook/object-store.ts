// Stand-in for compose's MinIO when scripts/runbook.sh runs without docker: the embedded S3 (SigV4, the same
// API the services use against MinIO) on a fixed loopback port, with the access and secret keys read from the
// same secret files compose mounts (MINIO_ROOT_USER_FILE / MINIO_ROOT_PASSWORD_FILE). Runs until SIGTERM.
//   node --import tsx scripts/runbook/object-store.ts DATA_DIR PORT ACCESS_KEY_FILE SECRET_KEY_FILE
import { readFileSync } from "node:fs";
import { startEmbeddedS3 } from "@synthmri/platform";

const [dataDir, port, accessKeyFile, secretKeyFile] = process.argv.slice(2);
if (!dataDir || !port || !accessKeyFile || !secretKeyFile) {
  console.error("usage: object-store.ts DATA_DIR PORT ACCESS_KEY_FILE SECRET_KEY_FILE");
  process.exit(2);
}
const s3 = await startEmbeddedS3({
  dataDir,
  port: Number(port),
  credentials: {
    accessKey: readFileSync(accessKeyFile, "utf8").trim(),
    secretKey: readFileSync(secretKeyFile, "utf8").trim(),
  },
});
console.log(`object store ready at ${s3.endpoint}`);
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.once(signal, () => void s3.close().then(() => process.exit(0)));
