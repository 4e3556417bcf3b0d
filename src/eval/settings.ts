/**
 * The evaluation settings, defined once (see src/settings.ts): `evaluate()`'s config, `openr1 evaluate`'s options and
 * the pipeline's `eval` section. Their defaults are `openr1 evaluate`'s (any model, 512 new tokens); the pipeline's
 * profiles set their own problem count, batch and token budget (src/pipeline/config.ts).
 */
import { z } from "zod";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";
import { integer, integerOrNull, parseSettings, real, seedSetting } from "../settings.js";

export const evalSettings = z.strictObject({
  numProblems: integerOrNull({ min: 1 }).default(null).describe("evaluate the first N problems; null: all"),
  batchSize: integer({ min: 1 }).default(4).describe("prompts per generate call"),
  maxNewTokens: integer({ min: 1 }).default(NEW_TOKEN_DEFAULTS.evaluate).describe("new tokens per answer at most"),
  temperature: real({ min: 0 }).default(0).describe("sampling temperature; 0: greedy"),
  topP: real({ gt: 0, max: 1 }).default(1).describe("nucleus sampling: the smallest set of tokens with this much probability"),
  checkTimeoutMs: integer({ min: 1 }).default(5000).describe("time limit for checking one answer, in milliseconds"),
});

/** The evaluation's settings with the run's seed (batch k samples with seed + k·batchSize). */
export const evaluationSettings = evalSettings.extend({ seed: seedSetting });

export type EvalSettings = z.output<typeof evaluationSettings>;
export type EvalSettingsInput = z.input<typeof evaluationSettings>;

export function resolveEvalSettings(settings: EvalSettingsInput, source = "Evaluation config"): EvalSettings {
  return parseSettings(evaluationSettings, settings, source);
}
