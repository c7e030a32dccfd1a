#!/usr/bin/env bash
# deploy/README.md's runbook, executed: a deployment with mTLS, then the README's "runbook:commands" block run
# verbatim (read from the README, so the text and the test cannot drift apart), with this script's values for the
# variables of the README's "runbook:settings" block (the test checks that both set the same names).
#
#   scripts/runbook.sh                 small phantom cohort, tiny GAN / U-Net settings (minutes on a CPU)
#   RUNBOOK_MODE=processes|compose     default: compose where a docker daemon answers and the images exist, else
#                                      processes: each service's production entrypoint, the image's ENTRYPOINT
#                                      command `node --import tsx services/<s>/src/main.ts`, with compose's
#                                      environment (mTLS, secrets as files, partner port) and the embedded S3
#                                      in MinIO's place
#   RUNBOOK_KEEP=1                     keep the work folder (.runbook/run-*) and print its path
# Exit status: that of the first failing runbook command (set -e), 0 when a partner's archive was downloaded.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
README=$ROOT/deploy/README.md
say() { printf '\n== runbook: %s ==\n' "$*" >&2; }

# The fenced block after "<!-- runbook:NAME -->" in deploy/README.md.
block() {
  awk -v tag="<!-- runbook:$1 -->" '
    $0 == tag { on = 1; next }
    on && /^<!-- runbook:end -->/ { exit }
    on && !/^```/ { print }' "$README"
}
if [ "${1:-}" = "--print-block" ]; then block "$2"; exit 0; fi

for tool in jq openssl node; do
  command -v "$tool" >/dev/null || { echo "runbook: $tool is required (the runbook uses it)" >&2; exit 2; }
done
# A python3 with grpcio and protobuf for the partner kit (Debian: python3-grpcio python3-protobuf).
PY=""
for p in /usr/bin/python3 python3; do
  if "$p" -c "import grpc, google.protobuf" 2>/dev/null; then PY=$(command -v "$p"); break; fi
done
[ -n "$PY" ] || { echo "runbook: no python3 with grpc and protobuf (apt-get install python3-grpcio python3-protobuf)" >&2; exit 2; }

mkdir -p "$ROOT/.runbook"
WORK=$(mktemp -d "$ROOT/.runbook/run-XXXXXX")  # inside the checkout: `npx synthmri` resolves the repository's CLI
mkdir -p "$WORK/bin" "$WORK/logs" "$WORK/tls" "$WORK/secrets" "$WORK/run"
ln -s "$PY" "$WORK/bin/python3"                 # the runbook's `python3` is one with grpc
export PATH="$WORK/bin:$PATH"

MODE=${RUNBOOK_MODE:-auto}
if [ "$MODE" = auto ]; then
  MODE=processes
  if docker info >/dev/null 2>&1 && docker image inspect "${SYNTHMRI_REGISTRY:-registry.hospital.local}/synthmri/generator:0.1.0" >/dev/null 2>&1; then
    MODE=compose
  fi
fi
say "mode $MODE, work folder $WORK"

PIDS=()
cleanup() {
  local status=$?
  { set +x; } 2>/dev/null
  if [ "$MODE" = compose ]; then
    docker compose -p synthmri-runbook -f "$WORK/compose.yaml" down -v >/dev/null 2>&1 || true
  fi
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for f in "$WORK"/logs/*.log; do
      [ -f "$f" ] || continue
      echo "--- last lines of $f" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ -n "${RUNBOOK_KEEP:-}" ]; then echo "runbook: kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- what the hospital prepares once (deploy/README.md section 2 and 4) -------------------------------------
say "PKI: CA, one certificate for the services (server and client), one client certificate for the partner"
(
  cd "$WORK/tls"
  ossl() { openssl "$@" 2>/dev/null; }
  ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=runbook-ca
  printf 'subjectAltName=DNS:ingest,DNS:generator,DNS:segmenter,DNS:evaluator,DNS:localhost,IP:127.0.0.1\n' >san.cnf
  ossl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj /CN=synthmri
  ossl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 2 -extfile san.cnf
  ossl req -newkey rsa:2048 -nodes -keyout partner.key -out partner.csr -subj /CN=partner-uni-x
  ossl x509 -req -in partner.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out partner.crt -days 2
  chmod 644 ./*.key
)
printf 'synthmri' >"$WORK/secrets/s3_access_key"
openssl rand -hex 24 >"$WORK/secrets/s3_secret_key"
openssl rand -hex 32 >"$WORK/secrets/deid_salt"
PARTNER_TOKEN=$(openssl rand -hex 32)
TOKEN_SHA256=$(printf %s "$PARTNER_TOKEN" | sha256sum | cut -d' ' -f1)
# A 1-kimg GAN still draws much tumour outside the brain: the hospital's anatomy rules (section 4) are relaxed for
# it, and it may draw more (the defaults reject nearly every sample of so short a training).
jq -n --arg h "$TOKEN_SHA256" \
  '{partners: [{name: "uni-x", tokenSha256: $h, scopes: ["datasets:request", "datasets:read"], imagesPerDay: 1000}],
    licence: "Research use only (runbook test).", maxDrawFactor: 100,
    anatomy: {maxTumourOutsideBrain: 1, maxCoreOnBackground: 1}}' >"$WORK/secrets/partner_tokens.json"

say "a small phantom cohort (BraTS 2020 layout) and two new cases to segment"
(cd "$ROOT" && npx synthmri phantom --subjects 8 --size 32x32x24 --seed 1 --out "$WORK/cohort" >/dev/null)
(cd "$ROOT" && npx synthmri phantom --subjects 2 --size 32x32x24 --seed 2 --out "$WORK/new-cases" >/dev/null)

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

if [ "$MODE" = compose ]; then
  # compose.yaml as shipped, with this run's secrets and PKI beside it (never the hospital's deploy/secrets).
  cp "$ROOT/deploy/compose.yaml" "$WORK/compose.yaml"
  say "docker compose up (images ${SYNTHMRI_REGISTRY:-registry.hospital.local}/synthmri/*:0.1.0)"
  COHORT_DIR="$WORK/cohort" docker compose -p synthmri-runbook -f "$WORK/compose.yaml" up -d --no-build --wait
  INGEST_PORT=50051 GENERATOR_PORT=50052 SEGMENTER_PORT=50053 EVALUATOR_PORT=50054 PARTNER_PORT=50055
  COHORT_IN_SERVICE=/cohort
else
  S3_PORT=$(free_port)
  INGEST_PORT=$(free_port) GENERATOR_PORT=$(free_port) SEGMENTER_PORT=$(free_port) EVALUATOR_PORT=$(free_port)
  PARTNER_PORT=$(free_port)
  COHORT_IN_SERVICE=$WORK/cohort
  say "object store (embedded S3 in MinIO's place, keys from the same secret files) on 127.0.0.1:$S3_PORT"
  (cd "$ROOT" && exec node --import tsx scripts/runbook/object-store.ts "$WORK/minio" "$S3_PORT" \
    "$WORK/secrets/s3_access_key" "$WORK/secrets/s3_secret_key") >"$WORK/logs/minio.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 300); do grep -q "object store ready" "$WORK/logs/minio.log" && break; sleep 0.2; done
  grep -q "object store ready" "$WORK/logs/minio.log" || { echo "runbook: the object store did not start" >&2; exit 1; }

  # compose.yaml's x-service-env and per-service environment, with host paths and this run's ports.
  common_env=(
    NODE_ENV=production HOST=0.0.0.0 LOG_LEVEL=info TF_BACKEND=auto
    S3_ENDPOINT="http://127.0.0.1:$S3_PORT" S3_BUCKET=synthmri
    S3_ACCESS_KEY_FILE="$WORK/secrets/s3_access_key" S3_SECRET_KEY_FILE="$WORK/secrets/s3_secret_key"
    INGEST_ADDR="localhost:$INGEST_PORT" GENERATOR_ADDR="localhost:$GENERATOR_PORT"
    SEGMENTER_ADDR="localhost:$SEGMENTER_PORT" EVALUATOR_ADDR="localhost:$EVALUATOR_PORT"
    TLS_CERT="$WORK/tls/tls.crt" TLS_KEY="$WORK/tls/tls.key" TLS_CA="$WORK/tls/ca.crt" TLS_CLIENT_AUTH=true
  )
  start_service() {
    local s=$1; shift
    say "$s: node --import tsx services/$s/src/main.ts (the image's ENTRYPOINT)"
    (cd "$ROOT" && exec env -i PATH="$PATH" HOME="$WORK" "${common_env[@]}" SERVICE="$s" \
      SYNTHMRI_DATA_DIR="$WORK/data/$s" METRICS_PORT="$(free_port)" "$@" \
      node --import tsx "services/$s/src/main.ts") >"$WORK/logs/$s.log" 2>&1 &
    PIDS+=("$!")
    SERVICE_PID[$s]=$!
  }
  declare -A SERVICE_PID
  start_service ingest INGEST_PORT="$INGEST_PORT" DEID_SALT_FILE="$WORK/secrets/deid_salt" IMPORT_ROOTS="$WORK/cohort"
  start_service generator GENERATOR_PORT="$GENERATOR_PORT" TRAIN_PROCESSES=2 \
    PARTNER_TOKENS_FILE="$WORK/secrets/partner_tokens.json" PARTNER_PORT="$PARTNER_PORT"
  start_service segmenter SEGMENTER_PORT="$SEGMENTER_PORT" TRAIN_PROCESSES=2
  start_service evaluator EVALUATOR_PORT="$EVALUATOR_PORT"
  for s in ingest generator segmenter evaluator; do
    for _ in $(seq 1 900); do
      grep -q '"msg":"[^"]*ready"' "$WORK/logs/$s.log" && break
      kill -0 "${SERVICE_PID[$s]}" 2>/dev/null || { echo "runbook: $s exited before ready" >&2; exit 1; }
      sleep 0.2
    done
    grep -q '"msg":"[^"]*ready"' "$WORK/logs/$s.log" || { echo "runbook: $s did not become ready" >&2; exit 1; }
  done
  # Docker's HEALTHCHECK, over mTLS with the service's certificate (the segmenter serves once a model is loaded).
  for s in ingest generator evaluator; do
    port_var="$(echo "$s" | tr a-z A-Z)_PORT"
    env SERVICE="$s" "$port_var=${!port_var}" TLS_CERT="$WORK/tls/tls.crt" TLS_KEY="$WORK/tls/tls.key" \
      TLS_CA="$WORK/tls/ca.crt" node "$ROOT/deploy/docker/healthcheck.mjs" >/dev/null
  done
fi

cat >"$WORK/experiment.yaml" <<'YAML'
# Tiny settings: 2 GANs grown to 16x16, 2 U-Net runs per condition (the runbook's shape, not its scale).
name: runbook
seed: 1
data: { source: phantom, sliceSize: 16 }
gan:
  family: pgan
  members: 2
  resolution: 16
  latentDim: 32
  kimgPerPhase: 0.2
  totalKimg: 1.0
  batchSize: 16
  fmapMax: 16
  fmapMin: 8
  emaDecay: 0.8
synthetic: { images: 64, ensembleSizes: [2], mixWithReal: [] }
segmenter: { runs: 2, epochs: 2, iterationsPerEpoch: 15, batchSize: 8, depth: 3, baseFilters: 8, maxFilters: 32, deepSupervision: 2 }
YAML

# ---- the README's settings, with this deployment's values (same names as the runbook:settings block) --------
# runbook:settings:begin
cd "$WORK/run"
export TLS_CA="$WORK/tls/ca.crt" TLS_CERT="$WORK/tls/tls.crt" TLS_KEY="$WORK/tls/tls.key"
export INGEST_ADDR="127.0.0.1:$INGEST_PORT" GENERATOR_ADDR="127.0.0.1:$GENERATOR_PORT"
export SEGMENTER_ADDR="127.0.0.1:$SEGMENTER_PORT" EVALUATOR_ADDR="127.0.0.1:$EVALUATOR_PORT"
COHORT=$COHORT_IN_SERVICE
SLICE_SIZE=16
EXPERIMENT=$WORK/experiment.yaml
NEW_CASES=$WORK/new-cases
PARTNER_ADDR="localhost:$PARTNER_PORT"
PARTNER_TLS="--ca $WORK/tls/ca.crt --cert $WORK/tls/partner.crt --key $WORK/tls/partner.key"
export PYTHONPATH="$ROOT/partner-kit/python" SYNTHMRI_PARTNER_TOKEN="$PARTNER_TOKEN"
# runbook:settings:end

say "deploy/README.md runbook:commands, verbatim"
COMMANDS=$(block commands)
[ -n "$COMMANDS" ] || { echo "runbook: no runbook:commands block in $README" >&2; exit 1; }
set -x
eval "$COMMANDS"
{ set +x; } 2>/dev/null

# ---- what the runbook promises is there ---------------------------------------------------------------------
say "checking the results"
ls out/*/report.md >/dev/null
ls segmentations/*.nii.gz >/dev/null
test -s unet.onnx
test "$(jq length generators.json)" -ge 1
test -n "$ENSEMBLE_ID" -a "$ENSEMBLE_ID" != null
ls -d synthetic/Dataset*_SynthMRI*/imagesTr >/dev/null
test -s synthetic/README.md
test -s bundle.tar
echo "runbook: ok (dataset $DATASET_ID, model $MODEL_ID, ensemble $ENSEMBLE_ID, bundle $BUNDLE_ID)" >&2
