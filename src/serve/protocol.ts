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

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();
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
  frequency_penalty: z.literal(0).nullish(),
  presence_penalty: z.literal(0).nullish(),
  user: z.string().nullish(),
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

export const completionRequest = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1)]),
});

export type ChatRequest = z.infer<typeof chatRequest>;
export type CompletionRequest = z.infer<typeof completionRequest>;

// Parameters the server understands but cannot honour: refused by name rather than silently ignored.
const UNSUPPORTED = ["logprobs", "top_logprobs", "tools", "tool_choice", "functions", "function_call", "response_format", "logit_bias", "best_of", "echo", "suffix"];

/** Validates a request body, or throws the 400 that names the first bad field. */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "The request body must be a JSON object");
  for (const key of UNSUPPORTED) {
    const v = (body as Record<string, unknown>)[key];
    if (v !== undefined && v !== null && v !== false) throw new ApiError(400, `'${key}' is not supported by this server`, "invalid_request_error", key, "unsupported_parameter");
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
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
