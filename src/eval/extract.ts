/**
 * Answer extraction with Math-Verify's rules (parser.py): every target type contributes regexes with
 * priorities ("final answer is … I hope" 0, "final answer … is" 50, "answer:" 100, "answer" 200,
 * plain LaTeX / expressions 300, `\boxed{}` at its own priority); within a priority the rightmost
 * match is tried first; the first match that parses wins. LaTeX environments joined by "and", "or" or
 * commas become one set. The first matched string is kept as a fallback for string comparison.
 */
import { DEFAULT_NORMALIZATION, normalizationConfig, normalizeLatex, parserLatex, type NormalizationOptions } from "./normalize.js";
import { mathVerifyNormalize } from "./math-normalization.js";
import { floatArithmetic, numberScalar, parseScalar } from "./cas.js";
import { parseValue, type Value } from "./value.js";

export type MatchType = "latex" | "expr";

export interface ExtractOptions {
  matchTypes: MatchType[];
  /** Priority of `\boxed{}` matches (Math-Verify: 50 in `parse`, 0 in its test harness). */
  boxedPriority: number;
  /** Also match plain LaTeX environments / numbers with no "answer" anchor (try_extract_without_anchor). */
  withoutAnchor: boolean;
  /** "any": try every match until one parses; "first": stop after the first match (extraction_mode). */
  mode: "any" | "first";
  /** LaTeX normalization switches (the LatexExtractionConfig's normalization_config). */
  normalization: NormalizationOptions;
}

export const DEFAULT_EXTRACT: ExtractOptions = { matchTypes: ["latex", "expr"], boxedPriority: 50, withoutAnchor: true, mode: "any", normalization: DEFAULT_NORMALIZATION };

export interface ParsedAnswer {
  /** The first successfully parsed candidate, or null. */
  value: Value | null;
  /** The first matched candidate's (normalized) text, whether or not it parsed (Math-Verify's string fallback). */
  text: string | null;
  /** The normalized text of the candidate `value` was parsed from, as shown to a reader (null when nothing parsed). */
  valueText: string | null;
}

/** Case-insensitive literal (Node 20's RegExp has no inline `(?i:)` groups). */
function ci(word: string): string {
  return word.replace(/[a-z]/gi, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`);
}

function latexEnvPattern(prefix: string, context: "plain" | "boxed"): string {
  const pct = String.raw`(?<${prefix}percent>(?:\\?%|[Pp]ercent|[Pp]ercentage|[Pp]ct))`;
  let dd = String.raw`(?:[^$]|\$(?!\$))`;
  let db = String.raw`(?:[^\\]|\\(?!\]))`;
  let id = String.raw`(?:\\[$]|[^\n$])`;
  let ip = String.raw`(?:[^\\\n]|\\(?!\)))`;
  let ib = String.raw`[^\n\]\[]`;
  const boxed = (c: string) => String.raw`${c}*?\\boxed\{${c}+?\}${c}*?`;
  if (context === "boxed") [dd, db, id, ip, ib] = [dd, db, id, ip, ib].map(boxed) as [string, string, string, string, string];
  else [dd, db, id, ip, ib] = [dd, db, id, ip, ib].map((c) => `${c}+?`) as [string, string, string, string, string];
  const patterns = [
    String.raw`(?<!\\)\$\$(?<${prefix}latexDisplayDollar>${dd})(?<!\\)\$\$`,
    String.raw`(?<!\\)\\\[(?<${prefix}latexDisplayBracket>${db})(?<!\\)\\\]`,
    String.raw`(?<!\\|\d)\$(?<${prefix}latexInlineDollar>${id})(?<!\\)\$`,
    String.raw`(?<!\\)\\\((?<${prefix}latexInlineParenthesis>${ip})(?<!\\)\\\)`,
    String.raw`\s\[(?<${prefix}latexInlineBracket>${ib})\]\s`,
  ];
  if (context === "plain") {
    const num = String.raw`-?\d+(?:[.,]\d+)?`;
    patterns.push(String.raw`(?<${prefix}latexFraction>-?\\frac\{${num}\}\{${num}\})`);
  }
  return String.raw`(?:(?:${patterns.join("|")})\s*${pct}?)`;
}

interface Pattern {
  re: RegExp;
  priority: number;
  type: MatchType;
}

function latexPatterns(boxedPriority: number, withoutAnchor: boolean): Pattern[] {
  const next = (ctx: "plain" | "boxed", lead: string) =>
    [1, 2, 3, 4, 5].map((i) => String.raw`${lead}(?:\s*(?:,?and|,?or|,)\s*${latexEnvPattern(`next${i}_`, ctx)})?`).join("");
  const env = `(?:${latexEnvPattern("first_", "plain")}${next("plain", "")})`;
  const answer = ci("answer");
  const out: [string, number][] = [
    [String.raw`${ci("final answer is")}\:?\s*${env}\.?\s?I hope`, 0],
    [String.raw`${ci("final answer")}.{0,100}?\s+is\:?\s*${env}`, 50],
    [String.raw`${answer}:.{0,50}?${env}`, 100],
    [String.raw`${answer}.{0,50}?${env}`, 200],
  ];
  if (withoutAnchor) out.push([env, 300]);
  if (boxedPriority >= 0) {
    out.push([`${latexEnvPattern("first_", "boxed")}${next("boxed", String.raw`\s*`)}`, boxedPriority]);
    out.push([String.raw`(?<first_latexBoxed>\\boxed\{.+\})`, boxedPriority]);
  }
  return out.map(([src, priority]) => ({ re: new RegExp(src, "gsd"), priority, type: "latex" as const }));
}

function exprPatterns(withoutAnchor: boolean): Pattern[] {
  const number = String.raw`(?<!\d)(?:(?<integer1>-?[1-9]\d{0,2}(?:[ ,]\d{3})+)(?<decimal1>\.\d+)?|(?<integer2>-?\d+)(?<decimal2>[.,]\d+)|(?<decimal3>\.\d+)|(?<integer3>-?\d+))(?<percent>\s*(?:%|[Pp]ercent|\s*[Pp]ercentage|\s*[Pp]ct))?`;
  const ops = String.raw`\+\-\*×\/\^\(\)÷`;
  const chars = String.raw`[\d\.\s${ops}]`;
  const expr = String.raw`(?<expr>-?\(?-?\d${chars}*[${ops}]${chars}+\)?)`;
  const currency = "$€£¥₹₽₪₩₫฿₡₢₣₤₥₦₧₨₭₮₯₰₱₲₳₴₵₶₷₸₺₻₼₾₿".replace(/\$/g, "\\$");
  const prefix = String.raw`(?:^|\s|=)(?:\*\*)?`;
  const suffix = String.raw`(?:\*\*)?(?:\.|,|:|\s|\)|\$|$)`;
  const exprA = `(?:${prefix}${expr}${suffix})`;
  const numberA = `(?:${prefix}[${currency}]?${number})`;
  const either = `(?:${exprA}|${numberA})`;
  const answer = ci("answer");
  const out: [string, number][] = [
    [String.raw`${ci("final answer is")}\:?\s*${either}\.?\s?I hope`, 0],
    [String.raw`${ci("final answer")}.{0,100}?\s+is\:?${either}`, 50],
    [String.raw`${answer}:(?:.{0,100}=\s*|.{0,50}?)${either}(?!\s*=)`, 100],
    [String.raw`${answer}(?:.{0,100}=\s*|.{0,50}?)${either}(?!\s*=)`, 200],
  ];
  if (withoutAnchor) out.push([exprA, 300], [numberA, 300]);
  return out.map(([src, priority]) => ({ re: new RegExp(src, "gd"), priority, type: "expr" as const }));
}

const patternCache = new Map<string, Pattern[]>();
function patternsFor(o: ExtractOptions): Pattern[] {
  const key = `${[...o.matchTypes].sort().join(",")}|${o.boxedPriority}|${o.withoutAnchor}`;
  let p = patternCache.get(key);
  if (!p) {
    p = [
      ...(o.matchTypes.includes("latex") ? latexPatterns(o.boxedPriority, o.withoutAnchor) : []),
      ...(o.matchTypes.includes("expr") ? exprPatterns(o.withoutAnchor) : []),
    ].sort((a, b) => a.priority - b.priority);
    patternCache.set(key, p);
  }
  return p;
}

function withPercent(v: Value | null, isPct: boolean, latex: string): Value | null {
  if (!v || !isPct) return v;
  if (v.kind !== "scalar") return v;
  const s = parseScalar(`${latex}\\%`);
  return s ? { kind: "scalar", s } : v;
}

/**
 * Forms latex2sympy's grammar does not read, so that Math-Verify finds no value (matched as the oracle judges them):
 * a number with words inside one `\text{}` (`\text{17 meters}`), a repeating decimal (`0.\overline{3}`).
 */
function latex2sympyRejects(raw: string, norm: string): boolean {
  return /\\(?:text|textbf|mbox|mathrm)\s*\{\s*-?\d[^{}]*[a-zA-Z][^{}]*\}/.test(raw) || /\d\.\d*\s*\\overline/.test(norm);
}

/**
 * parse_latex_cached: the whole normalized answer, or when that fails, the last part of a chain of equations
 * (get_last_eq: more than two parts and no comma or semicolon).
 */
function parseNormalized(norm: string, normalization: NormalizationOptions): { value: Value; input: string } | null {
  const whole = parserLatex(norm, normalization);
  const value = whole === null ? null : parseValue(whole);
  if (value) return { value, input: whole! };
  if (norm.includes(",") || norm.includes(";")) return null;
  const parts = norm.split(/(?<![\\<!>])=/);
  if (parts.length <= 2) return null;
  const last = parserLatex(parts[parts.length - 1]!, normalization);
  const lastValue = last === null ? null : parseValue(last);
  return lastValue ? { value: lastValue, input: last! } : null;
}

function extractLatex(m: RegExpExecArray, normalization: NormalizationOptions): { value: Value | null; text: string; shown: string } {
  const groups = m.groups ?? {};
  const found: { latex: string; name: string; prefix: string }[] = [];
  for (const prefix of ["first", "next1", "next2", "next3", "next4", "next5"]) {
    const entry = Object.entries(groups).find(([n, v]) => n.startsWith(`${prefix}_latex`) && v !== undefined);
    if (entry) found.push({ latex: entry[1]!, name: entry[0], prefix });
  }
  if (found.length === 0) return { value: null, text: "", shown: "" };
  const values: (Value | null)[] = [];
  const texts: string[] = [];
  const shown: string[] = [];
  for (const f of found) {
    // The bare `\boxed{.+}` target is normalized with boxed="last" (extract_latex), the environments with "all".
    const norm = normalizeLatex(f.latex, f.name === "first_latexBoxed" ? "last" : "all", normalization);
    texts.push(norm);
    // What a reader is shown: the same text without the nits rewrites (`0.5` stays `0.5`, not `\frac{1}{2}`).
    shown.push(mathVerifyNormalize(f.latex, { ...normalizationConfig(f.name === "first_latexBoxed" ? "last" : "all", normalization), nits: false }));
    const parsed = latex2sympyRejects(f.latex, norm) ? null : parseNormalized(norm, normalization);
    values.push(withPercent(parsed?.value ?? null, groups[`${f.prefix}_percent`] !== undefined, parsed?.input ?? ""));
  }
  if (values.length > 1 && values.every((v) => v !== null)) {
    const items = (values as Value[]).flatMap((v) => (v.kind === "set" ? v.items : [v]));
    return { value: { kind: "set", items }, text: texts.join(" and "), shown: shown.join(" and ") };
  }
  return { value: values[0]!, text: texts[0]!, shown: shown[0]! };
}

function extractExpr(m: RegExpExecArray): { value: Value | null; text: string; shown?: undefined } {
  const g = m.groups ?? {};
  const expr = g["expr"] ?? "";
  const integer = ["integer1", "integer2", "integer3"].map((k) => g[k]).find((v) => v) ?? "";
  const decimal = ["decimal1", "decimal2", "decimal3"].map((k) => g[k]).find((v) => v) ?? "";
  if (integer || decimal) {
    const neg = integer.startsWith("-");
    let int = integer.replace(/[, ]/g, "").replace(/^-/, "").replace(/^0+/, "");
    if (!int) int = "0";
    const str = `${neg ? "-" : ""}${int}${decimal.replace(",", ".")}`;
    return { value: { kind: "scalar", s: numberScalar(str, Boolean(g["percent"])) }, text: str };
  }
  if (expr) {
    // sympy's parse_expr reads Python: `3.` is a float, `**` a power.
    const src = expr
      .replace(/\n/g, " ")
      .replace(/(\d)\.(?!\d)/g, "$1.0")
      .replace(/\*\*/g, "^")
      .replace(/×/g, "\\times ")
      .replace(/÷/g, "\\div ")
      .replace(/\*/g, "\\cdot ");
    const s = parseScalar(src);
    // A float literal in the expression makes sympy's value a binary float (5/6. is 5/6.0).
    const fv = /\d\.(?!\d)|\d\.\d/.test(expr) ? floatArithmetic(expr.replace(/×/g, "*").replace(/÷/g, "/")) : null;
    return { value: s ? { kind: "scalar", s: fv === null ? s : { ...s, floatValue: fv } } : null, text: expr };
  }
  return { value: null, text: expr };
}

/** Math-Verify's `parse`: the first candidate that parses (by priority, rightmost first) and the first matched text. */
export function extractAnswer(text: string, options: Partial<ExtractOptions> = {}): ParsedAnswer {
  const o = { ...DEFAULT_EXTRACT, ...options };
  const patterns = patternsFor(o);
  let fallback: string | null = null;
  let i = 0;
  while (i < patterns.length) {
    const priority = patterns[i]!.priority;
    const group: Pattern[] = [];
    while (i < patterns.length && patterns[i]!.priority === priority) group.push(patterns[i++]!);
    const matches: { m: RegExpExecArray; type: MatchType }[] = [];
    for (const p of group) {
      p.re.lastIndex = 0;
      for (const m of text.matchAll(p.re)) matches.push({ m: m as RegExpExecArray, type: p.type });
    }
    matches.sort((a, b) => {
      const ea = a.m.index + a.m[0].length;
      const eb = b.m.index + b.m[0].length;
      return eb - ea || a.m.index - b.m.index;
    });
    for (const { m, type } of matches) {
      const r = type === "latex" ? extractLatex(m, o.normalization) : extractExpr(m);
      if (r.text && fallback === null) fallback = r.text;
      if (r.value !== null) return { value: r.value, text: fallback, valueText: r.shown ?? r.text };
      if (o.mode === "first") return { value: null, text: fallback, valueText: null };
    }
  }
  return { value: null, text: fallback, valueText: null };
}
