export { type JobHandlerOptions, jobHandlers } from "./job-service.js";
export { type JobResult, jobStateFromProto, jobStatusToProto, objectRefToProto } from "./job-status.js";
