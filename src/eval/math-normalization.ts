/**
 * latex2sympy2_extended 1.10.2's `normalize_latex` (math_normalization.py), rule for rule: what Math-Verify does to an
 * extracted answer before its parser sees it. Its output is also Math-Verify's string fallback, so it is kept
 * verbatim, quirks included (units are only removed at the very end of the answer; the unit list has one-letter
 * units such as "m", "t", "s"; a thin space is left for the parser, which skips it).
 */

export interface MathNormalizationConfig {
  basicLatex: boolean;
  units: boolean;
  malformedOperators: boolean;
  nits: boolean;
  boxed: "all" | "last" | "none";
}

/** LatexExtractionConfig's default normalization_config (basic_latex, units, malformed_operators, nits, boxed="all"). */
export const MATH_VERIFY_NORMALIZATION: MathNormalizationConfig = { basicLatex: true, units: true, malformedOperators: true, nits: true, boxed: "all" };

const R_LEFT = /\\m?left(\\\{|\{|\\\||\||\[|\(|\\rbracl|\\lgroup|\\lbrace|\\lbrack|\\vert|\\lvert|\\lceil|\\lfloor|\\vert|\\lvert|\\langle|\\llcorner|\\ulcorner)/g;
const R_RIGHT = /\\m?right(\\\}|\}|\\\||\||\]|\)|\\rbrack|\\rgroup|\\rbrace|\\rbrack|\\vert|\\rvert|\\rceil|\\rfloor|\\vert|\\rvert|\\rangle|\\lrcorner|\\urcorner)/g;

// The unit words, in the library's order ("integer" "point" is one word there: Python joins adjacent literals).
// They are regular-expression source, unescaped, as in the library ("q ." matches "q" and any character).
const UNITS = [
  "integerpoint", "feet", "sue", "digit", "pound", "meal", "edge", "student", "children ticket", "multiple", "east", "degree",
  "mph", "kmph", "ft", "m square", " m east", "sq m", "deg", "mile", "q .", "monkey", "prime", "ratio", "profit of rs", "rd",
  "o", "gm", "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab", "way", "west", "a .", "b .", "c .", "d .", "e .", "f .",
  "g .", "h .", "t", "h", "no change", "men", "soldier", "pie", "bc", "excess", "st", "inches", "noon", "cent", "by", "gal",
  "kmh", "c", "acre", "rise", "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin", "sq . m", "gallon", "° f", "profit",
  "minw", "yr", "women", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are", "rupee", "rounds", "cubic", "cc", "mtr", "s",
  "ohm", "number", "kmph", "day", "hour", "minute", "min", "second", "man", "woman", "sec", "cube", "mt", "sq inch", "mp",
  "∏ cm ³", "hectare", "more", "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g", "month", "km", "m", "cm", "mm",
  "apple", "liter", "loss", "yard", "pure", "year", "increase", "decrease", "d", "less", "Surface", "litre", "pi sq m", "s .",
  "metre", "meter", "inch",
];
/** A unit word at the end of the answer after a digit, `}` or a space (applied twice). */
const UNITS_RE = new RegExp(`(\\d|\\}|\\s)\\s*(?:(?:${UNITS.join("|")})(?:s|es)?)\\s*$`);
/** A trailing `\text{…}` / `\mbox{…}` (from the first one that runs to the end), with an optional `^2`. */
const UNIT_SUPERSCRIPT_RE = /(\\(?:text|mbox)\{.*?\})(\^\d|\{\^\d\})?$/;

const TO_REMOVE_RE = /\\mathrm\{th\}|\\!\s*|\\text\s*\{\s*\}|\\text\s*\{\s*\}|\\\$|\$|(?<!\\)["']|\\displaystyle/g;

// basic_latex's replacements, one alternation in the library's order (the first alternative that matches wins).
const TO_REPLACE: [string, string][] = [
  [String.raw`\\math(?:rm|it|bf)`, String.raw`\text`],
  [String.raw`\\text(?:normal|bf|it|rm)`, String.raw`\text`],
  [String.raw`\\(?:d|t|c)frac`, String.raw`\frac`],
  [String.raw`\s\.`, " 0."],
  [String.raw`\{\.`, "{0."],
  [String.raw`\~\=`, String.raw`\approx`],
  [String.raw`\s*\{\s*,\s*\}`, ","],
  [String.raw`(?<![a-zA-Z])(?:,?\s*(?:and|or))(?![a-zA-Z])`, ","],
  [String.raw`(?:,?\s*\\text\{\s*(?:and|or)\s*\})`, ","],
  [String.raw`(?<!\\)\\\s`, " "],
  ["infinity", String.raw`\infty`],
  [String.raw`,?(?:\\ldots)`, " "],
  [String.raw`\s*percentage`, String.raw`\%`],
  [String.raw`\\text\{percentage\}`, String.raw`\%`],
  [String.raw`\s*percent`, String.raw`\%`],
  [String.raw`\\text\{percent\}`, String.raw`\%`],
  [String.raw`\s*pct`, String.raw`\%`],
  [String.raw`\\text\{pct\}`, String.raw`\%`],
  [String.raw`(?:(?<!\\)inf(?!inity))`, String.raw`\infty`],
  [" sqrt", String.raw`\sqrt`],
];
const TO_REPLACE_RE = new RegExp(TO_REPLACE.map(([p], i) => `(?<r${i}>${p})`).join("|"), "g");

const COMMAND_SLASH_FIX_RE = /\\\\(?=[a-zA-Z])/g;
const PERMUTATION_RE = /\(([a-zA-Z0-9+\-*/\\ ]+?)\)_\{([a-zA-Z0-9+\-*/\\ ]+?)\}/g;

const MALFORMED_OPERATORS: [RegExp, string][] = [
  [/\^\s?\((.*?)\)/g, "^{$1}"],
  [/sqrt\s?\((.*?)\)/g, "\\sqrt{$1}"],
  [/\\frac\s?(\d)\s?(\d+)/g, "\\frac{$1}{$2}"],
  [/\\log_\s?(\d)\s?(\d+)/g, "\\log_{$1}{$2}"],
  [/\\frac\s?\{(.*?)\}\s?(\d)/g, "\\frac{$1}{$2}"],
  [/\\frac\s?(\d)\s?\{(.*?)\}/g, "\\frac{$1}{$2}"],
  [/\\sqrt\s?(\d)/g, "\\sqrt{$1}"],
];

/** Python's `text.rfind(sub, 0, end)`: the last occurrence that ends by `end`, or -1. */
function rfind(text: string, sub: string, end: number): number {
  if (end - sub.length < 0) return -1;
  return text.lastIndexOf(sub, end - sub.length);
}

const VALID_SEPARATOR_RE = /and|or|,|;/;
const isSpace = (c: string) => /\s/.test(c);

/**
 * `extract_boxed_content`: the contents of `\boxed{…}` / `\fbox{…}` searched from the right; "all" joins every box
 * with commas, "last" keeps going left only while the boxes are close together or separated by "and", "or", "," or
 * ";" (and differ). An unclosed last box runs to the end. Without a box the text is returned as it is.
 */
export function extractBoxedContent(text: string, mode: "last" | "all"): string {
  const results: string[] = [];
  let currentPos = text.length;
  let lastBoxedStart: number | null = null;
  let maxPos = text.length;
  const bounds = (open: number, max: number): [number, number] | null => {
    let i = open;
    let depth = 1;
    while (i + 1 < max) {
      i++;
      if (text[i] === "{") depth++;
      else if (text[i] === "}") {
        depth--;
        if (depth === 0) return [open, i];
      }
    }
    return null;
  };
  for (;;) {
    const b = rfind(text, "\\boxed", currentPos);
    const f = rfind(text, "\\fbox", currentPos);
    if (b < 0 && f < 0) break;
    const start = Math.max(b, f);
    let next = start + (b > f ? 6 : 5);
    while (next < maxPos && isSpace(text[next]!)) next++;
    if (next >= maxPos) break;
    if (text[next] === "{") {
      const bd = bounds(next, maxPos);
      if (!bd) {
        if (results.length === 0) results.push(text.slice(next));
        break;
      }
      const content = text.slice(bd[0] + 1, bd[1]).trim();
      if (mode === "last" && lastBoxedStart !== null) {
        const between = text.slice(bd[1] + 1, lastBoxedStart);
        const later = results.length ? results[results.length - 1]! : "";
        const ok = between.length < 10 || (later !== content && between.length < 70 && VALID_SEPARATOR_RE.test(between));
        if (!ok) break;
      }
      results.push(content);
      lastBoxedStart = start;
      maxPos = start;
    } else {
      if (results.length === 0) results.push(text.slice(next));
      break;
    }
    currentPos = start;
  }
  if (results.length === 0) return text;
  return results.reverse().join(",");
}

function fixSqrt(text: string): string {
  if (!text.includes("\\sqrt")) return text;
  const splits = text.split("\\sqrt");
  let out = splits[0]!;
  for (let split of splits.slice(1)) {
    split = split.replace(/^\s+/, "");
    if (split.length > 0 && split[0] !== "{" && split[0] !== "[") out += `\\sqrt{${split[0]}}${split.slice(1)}`;
    else out += `\\sqrt${split}`;
  }
  return out;
}

function fixFracs(text: string): string {
  const substrs = text.split("\\frac");
  let out = substrs[0]!;
  for (let substr of substrs.slice(1)) {
    substr = substr.replace(/^\s+/, "");
    out += "\\frac";
    if (substr.length > 0 && substr[0] === "{") out += substr;
    else if (substr.length < 2) return text;
    else {
      const a = substr[0]!;
      const b = substr[1]!;
      if (b !== "{") out += `{${a}}{${b}}${substr.slice(2)}`;
      else out += `{${a}}${b}${substr.slice(2)}`;
    }
  }
  return out;
}

function fixASlashB(text: string): string {
  const parts = text.split("/");
  if (parts.length !== 2) return text;
  // Python's int() accepts surrounding spaces, signs and underscores; the round trip must give the text back.
  const int = (s: string) => (/^\s*[+-]?\d+(?:_\d+)*\s*$/.test(s) ? BigInt(s.trim().replace(/_/g, "")) : null);
  const a = int(parts[0]!);
  const b = int(parts[1]!);
  if (a === null || b === null || text !== `${a}/${b}`) return text;
  return `\\frac{${a}}{${b}}`;
}

/** `normalize_latex(text, config)`. */
export function mathVerifyNormalize(input: string, config: MathNormalizationConfig = MATH_VERIFY_NORMALIZATION): string {
  let text = input;
  if (config.boxed === "all" || config.boxed === "last") text = extractBoxedContent(text, config.boxed);
  if (config.basicLatex) {
    text = text.split("\\mathrm{T}").join("T");
    text = text.split("\\mathrm{d}").join("d").split("{\\rm d}").join("d");
    text = text.split("\\left[\\begin{matrix}").join("\\begin{bmatrix}").split("\\end{matrix}\\right]").join("\\end{bmatrix}");
    text = text.replace(R_LEFT, "$1").replace(R_RIGHT, "$1");
    text = text.replace(PERMUTATION_RE, (_m, a: string, b: string) => `\\frac{(${a})!}{((${a})-(${b}))!}`);
    text = text.replace(TO_REMOVE_RE, "");
    text = text.replace(TO_REPLACE_RE, (...args) => {
      const groups = args[args.length - 1] as Record<string, string | undefined>;
      const i = Object.keys(groups).findIndex((k) => groups[k] !== undefined);
      return TO_REPLACE[i]![1];
    });
    text = text.replace(/\n/g, " ").replace(/\t/g, " ");
    if (!text.includes("matrix")) text = text.replace(COMMAND_SLASH_FIX_RE, "\\");
  }
  if (config.units) {
    const stripped = text.replace(UNIT_SUPERSCRIPT_RE, "").trim();
    if (stripped !== "" && stripped !== text) text = stripped;
    for (let i = 0; i < 2; i++) {
      const t = text.replace(UNITS_RE, "$1");
      if (t !== "" && t !== text) text = t;
    }
  }
  if (config.nits) {
    if (text.length > 0 && text[0] === ".") text = `0${text}`;
    if (text === "0.5") text = "\\frac{1}{2}";
  }
  if (config.malformedOperators) {
    for (const [re, rep] of MALFORMED_OPERATORS) text = text.replace(re, rep);
    text = text.split(" sqrt").join("\\sqrt");
    text = fixSqrt(text);
    text = fixFracs(text);
    text = fixASlashB(text);
  }
  return text.trim();
}
