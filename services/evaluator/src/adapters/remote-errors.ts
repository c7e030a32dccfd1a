// A failure of a downstream service becomes the matching typed error, prefixed with which service said it, so
// the evaluator answers NOT_FOUND for an unknown dataset or model instead of INTERNAL.
import { isSynthError, SynthError } from "@synthmri/platform";
import { isRpcError } from "@synthmri/rpc";

export function fromRemote(service: string, e: unknown): unknown {
  if (isRpcError(e)) return new SynthError(e.kind ?? "Unavailable", `${service}: ${e.details}`, { cause: e });
  if (isSynthError(e)) return e;
  return e;
}
