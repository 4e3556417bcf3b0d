export * from "./config.js";
export * from "./run.js";
