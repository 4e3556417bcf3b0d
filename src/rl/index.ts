// GRPO: group-relative policy optimisation with TRL's semantics, on the project's rewards.
export * from "./advantages.js";
export * from "./loss.js";
export * from "./logprobs.js";
export * from "./rewards.js";
export * from "./trainer.js";
export * from "./job.js";
export * from "./tracking.js";
export * from "./display.js";
export * from "./settings.js";
