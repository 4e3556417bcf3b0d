import { z } from "zod";

/** An error in the OpenAI API's shape: `{"error": {"message", "type", "param", "code"}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const stop = z.union([z.string(), z.array(z.string()).max(16)]).nullish();
/**
 * The request fields this server honours: OpenAI's sampling parameters, and vLLM's common extensions with vLLM's
 * meaning and ranges (top_k, min_p, repetition_penalty, min_tokens, ignore_eos). Every other field is refused by
 * name unless it is null or false (off), see parseRequest.
 */
const sampling = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  top_k: z.number().int().min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().gt(0).max(100).nullish(),
  min_tokens: z.number().int().min(0).nullish(),
  ignore_eos: z.boolean().nullish(),
  // Identifiers for the caller's own bookkeeping: nothing to honour.
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
};

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(textPart)]),
  name: z.string().nullish(),
});

export const chatRequest = z.object({
  ...sampling,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
});

const tokenIds = z.array(z.number().int().min(0)).min(1);
export const completionRequest = z.object({
  ...sampling,
  /** Text, texts, token ids (of the model folder's tokenizer) or lists of token ids. */
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
});

export type ChatRequest = z.infer<typeof chatRequest>;
export type CompletionRequest = z.infer<typeof completionRequest>;

/** Validates a request body, or throws the 400 that names the first bad or unsupported field. */
export function parseRequest<T>(schema: z.ZodObject, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "The request body must be a JSON object");
  for (const [key, v] of Object.entries(body)) {
    // A field set to null or false asks for nothing (logprobs: false, echo: false, store: false, …).
    if (key in schema.shape || v === null || v === false) continue;
    throw new ApiError(400, `'${key}' is not supported by this server`, "invalid_request_error", key, "unsupported_parameter");
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data as T;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("");
  const message = issue.code === "invalid_value" || issue.code === "invalid_type" || issue.code === "invalid_union" ? `Invalid value for '${param}': ${issue.message}` : `'${param}': ${issue.message}`;
  throw new ApiError(400, message, "invalid_request_error", param || null, "invalid_value");
}

/** A message's text: plain content, or its text parts joined. */
export function messageText(content: string | { type: "text"; text: string }[]): string {
  return typeof content === "string" ? content : content.map((p) => p.text).join("");
}

export function stopList(s: string | string[] | null | undefined): string[] {
  return s == null ? [] : (typeof s === "string" ? [s] : s).filter((x) => x.length > 0);
}
