export * from "./tokenizer.js";
export * from "./vocab-map.js";
