#!/usr/bin/env bash
# Contract check (CI and `npm run contracts:check`):
#   1. buf lint (STANDARD) on proto/;
#   2. regenerate into a temp dir and fail on any difference from the committed packages/contracts/src/gen;
#   3. buf breaking against the previous commit's proto/ when HEAD~1 has one (skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=node_modules/.bin/buf
if [ ! -x "$BUF" ]; then
  echo "check-contracts: $BUF not found; run 'npm ci' first" >&2
  exit 1
fi

echo "check-contracts: buf lint"
"$BUF" lint

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "check-contracts: regenerate and compare with packages/contracts/src/gen"
"$BUF" generate --output "$tmp"
if ! diff -r "$tmp/packages/contracts/src/gen" packages/contracts/src/gen >"$tmp/diff.txt"; then
  echo "check-contracts: generated code is stale; run 'npm run contracts:gen' and commit the result:" >&2
  head -n 40 "$tmp/diff.txt" >&2
  exit 1
fi

# The partner kit's descriptor set (partner-kit/python/synthmri_partner/contracts.binpb) is the partner API as a file.
echo "check-contracts: partner kit descriptor set is fresh"
"$BUF" build --path proto/synthmri/generator/v1/partner.proto --path proto/synthmri/common/v1/job_service.proto -o "$tmp/partner.binpb"
if ! cmp -s "$tmp/partner.binpb" partner-kit/python/synthmri_partner/contracts.binpb; then
  echo "check-contracts: partner-kit/python/synthmri_partner/contracts.binpb is stale; run 'npm run partner-kit:gen' and commit it" >&2
  exit 1
fi

if git rev-parse --verify --quiet HEAD~1 >/dev/null && [ -n "$(git ls-tree -d HEAD~1 proto 2>/dev/null)" ]; then
  # buf reads the previous commit's tree directly from git (subdir=proto is the module root there).
  echo "check-contracts: buf breaking against HEAD~1"
  "$BUF" breaking --against ".git#ref=HEAD~1,subdir=proto"
else
  echo "check-contracts: HEAD~1 has no proto/ directory; breaking check skipped"
fi
echo "check-contracts: ok"
