export { type JobHandlerOptions, jobHandlers } from "./job-service.js";
export {
  type JobResult,
  type JobStatusOptions,
  jobErrorCode,
  jobStateFromProto,
  jobStatusToProto,
  objectRefToProto,
} from "./job-status.js";
