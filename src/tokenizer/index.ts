export * from "./tokenizer.js";
