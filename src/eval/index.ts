export * from "./normalize.js";
export * from "./value.js";
export * from "./compare.js";
export * from "./extract.js";
export * from "./verify.js";
export * from "./checker.js";
export * from "./rewards.js";
