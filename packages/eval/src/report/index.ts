export * from "./conditions.js";
export * from "./csv.js";
export * from "./report.js";
