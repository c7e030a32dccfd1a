// @synthmri/console: the web console (HTTP server, Connect routes to the four services, browser pages).
export { type ConsoleOptions, type RunningConsole, startConsole } from "./server.js";
export type { Addresses, ServiceName } from "./console-service.js";
