export * from "./tokenizer.js";
export * from "./vocab-map.js";
export * from "./trimmed.js";
