// The health check lives in @synthmri/rpc (the console uses it too); kept here for existing imports.
export { checkHealth, type HealthStatus } from "@synthmri/rpc";
