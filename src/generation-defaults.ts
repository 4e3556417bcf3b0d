/**
 * How many new tokens generation may produce when nobody says: the one place these defaults live. They differ on
 * purpose; each says why. (Apart from the model code, so that configs and the CLI's help need not load tfjs.)
 */
export const NEW_TOKEN_DEFAULTS = {
  /** `openr1 evaluate` and evaluate(): room for a worked solution from a chat model, not only a short answer. */
  evaluate: 512,
  /** The pipeline's embedded default profile: tiny-math's answers take about 60 tokens; evaluating 120 problems stays quick. */
  pipeline: 96,
  /** The pipeline's `full` profile: OpenR1-Math reasoning traces run to thousands of tokens. */
  pipelineFull: 2048,
  /** `openr1 serve`, a chat completion without max_tokens (`--max-tokens`); vLLM would use all the context left. */
  serveChat: 512,
  /** `openr1 serve`, a text completion without max_tokens: the OpenAI API's documented default. */
  serveCompletions: 16,
  /** `openr1 model generate` (`--max-new-tokens`): one answer printed as it streams. */
  modelGenerate: 256,
} as const;
