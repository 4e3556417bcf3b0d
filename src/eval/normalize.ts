/**
 * LaTeX clean-ups applied to an extracted answer before it is parsed, after latex2sympy2_extended's
 * `normalize_latex` (basic_latex, units, malformed_operators, nits, boxed).
 */

export type BoxedMode = "all" | "last" | "none";

/** Contents of every `\boxed{…}` / `\fbox{…}` in order; an unclosed one runs to the end of the text. */
export function boxedContents(text: string): string[] {
  const out: string[] = [];
  const re = /\\(?:boxed|fbox)\s*\{/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === "\\" && i + 1 < text.length) {
        i++;
        continue;
      }
      if (text[i] === "{") depth++;
      else if (text[i] === "}") depth--;
    }
    out.push(depth === 0 ? text.slice(start, i - 1) : text.slice(start));
    re.lastIndex = i;
  }
  return out;
}

/**
 * Several boxes form one answer when what separates them is a connective ("and", "or", a comma) or
 * a few symbols; a box followed by prose (a retraction, "no no no") leaves only the last box.
 */
function boxesAreOneAnswer(text: string): boolean {
  const between = text.split(/\\(?:boxed|fbox)\s*\{/).slice(1, -1).map((chunk) => {
    let depth = 1;
    let i = 0;
    for (; i < chunk.length && depth > 0; i++) {
      if (chunk[i] === "{") depth++;
      else if (chunk[i] === "}") depth--;
    }
    return chunk.slice(i).replace(/\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}/g, "$1").replace(/\\[a-z]+|[$\\()\[\]]/g, " ").trim();
  });
  return between.every((b) => b.length <= 8 || /(?:^|[\s,])(?:and|or)(?:$|[\s,])|[,;]/.test(b));
}

const UNIT_WORDS = [
  "units?", "cm", "mm", "km", "m", "meters?", "metres?", "centimeters?", "millimeters?", "kilometers?",
  "inch(?:es)?", "feet", "foot", "ft", "yards?", "miles?", "mph", "kg", "grams?", "kilograms?", "pounds?",
  "lbs?", "ounces?", "oz", "liters?", "litres?", "ml", "hours?", "hrs?", "minutes?", "mins?", "seconds?",
  "secs?", "days?", "weeks?", "months?", "years?", "dollars?", "cents?", "yuan", "euros?", "degrees?",
  "sq", "square", "cubic", "people", "persons?", "students?", "times", "ways", "points?", "cm\\^2", "m\\^2",
  "m²", "cm²", "m³", "cm³",
];
const UNIT_RE = new RegExp(`(\\d|\\})\\s*(?:\\\\[,;: ]\\s*)*(?:${UNIT_WORDS.join("|")})(?![A-Za-z])(?:\\s*\\^\\s*\\{?\\d\\}?)?`, "g");
const PERCENT_WORD_RE = /(\d|\})\s*(?:percentage|percent|pct)(?![A-Za-z])/g;
const TEXT_CMD_RE = /\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|mathtt|mbox|operatorname)\s*\{([^{}]*)\}/g;

/**
 * The NormalizationConfig switches callers set (latex2sympy2_extended): open-r1's accuracy reward parses completions
 * with `malformed_operators=False`, so `\frac12`, `\sqrt3`, `\frac ab` are not repaired there and do not parse.
 */
export interface NormalizationOptions {
  malformedOperators: boolean;
}

export const DEFAULT_NORMALIZATION: NormalizationOptions = { malformedOperators: true };

/** `\frac` or `\sqrt` with an argument not in braces: what latex2sympy's grammar rejects unless repaired. */
const MALFORMED_OPERATOR_RE = /\\[dt]?frac\s*(?!\{)|\\[dt]?frac\s*\{[^{}]*\}\s*(?!\{)|\\sqrt\s*(?![[{])/;

export function hasMalformedOperator(latex: string): boolean {
  return MALFORMED_OPERATOR_RE.test(latex);
}

/** Removes `\left`/`\right`, spacing, `\dfrac`-style variants, `\text{}` wrappers, units, degrees, thousands separators. */
export function normalizeLatex(input: string, boxed: BoxedMode = "all", options: NormalizationOptions = DEFAULT_NORMALIZATION): string {
  let s = input;
  // Escaped-twice LaTeX (JSON dumped twice): `\\frac` -> `\frac`, but keep `\\` row breaks before non-letters.
  s = s.replace(/\\\\(?=[a-zA-Z{}])/g, "\\");
  if (boxed !== "none") {
    const contents = boxedContents(s);
    if (contents.length > 0) s = boxed === "all" && boxesAreOneAnswer(s) ? contents.join(", ") : contents[contents.length - 1]!;
  }
  s = s.replace(/\n/g, " ");
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big|displaystyle)(?![a-zA-Z])\.?/g, "");
  s = s.replace(/\\[dtc]frac(?![a-zA-Z])/g, "\\frac");
  s = s.replace(/\\(?:\$)/g, "").replace(/\$/g, "");
  // Thousands separators: 14{,}916, 11,\!111, 14 {, }916.
  s = s.replace(/(\d)\s*\{\s*,\s*\}\s*(?=\d)/g, "$1");
  s = s.replace(/(\d),\\!\s*(?=\d{3})/g, "$1");
  // Plain commas between groups of three digits: latex2sympy's lexer reads 2,343 and 4,748,023 as one number.
  s = s.replace(/(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?!\d)/g, (_m, head: string, groups: string) => head + groups.replace(/,/g, ""));
  s = s.replace(/\\[!]/g, "");
  s = s.replace(/\\[,;:]|\\qquad|\\quad|~|(?<!\\)\\ (?=\S)/g, " ");
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree|°/g, "");
  s = s.replace(/\\%|%/g, "\\%");
  // Connectives written as text become list separators; other \text{} is unwrapped.
  s = s.replace(/\\(?:text|textbf|mbox|textnormal|mathrm)\s*\{\s*(and|or)\s*\}/g, " , ");
  s = s.replace(PERCENT_WORD_RE, "$1\\%");
  s = s.replace(TEXT_CMD_RE, (_m, inner: string) => ` ${inner.trim()} `);
  s = s.replace(TEXT_CMD_RE, (_m, inner: string) => ` ${inner.trim()} `);
  s = s.replace(UNIT_RE, "$1");
  s = s.replace(PERCENT_WORD_RE, "$1\\%");
  // Binomials as factorials (the CAS has no \binom).
  s = s.replace(/\\[dt]?binom\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "\\frac{($1)!}{($2)!(($1)-($2))!}");
  if (options.malformedOperators) {
    // Malformed operators: \sqrt3, \frac12, \frac1{2}, \frac{1}2.
    s = s.replace(/\\sqrt\s*(\d|[a-zA-Z](?![a-zA-Z]))/g, "\\sqrt{$1}");
    s = s.replace(/\\frac\s*(\d)\s*(\d)/g, "\\frac{$1}{$2}");
    s = s.replace(/\\frac\s*(\d)\s*\{/g, "\\frac{$1}{");
    s = s.replace(/\\frac\s*\{([^{}]*)\}\s*(\d)/g, "\\frac{$1}{$2}");
  }
  // A leading decimal point (.5): latex2sympy's grammar reads it whatever the config.
  s = s.replace(/(^|[^\d.\w}])\.(\d)/g, (_m, before: string, digit: string) => `${before}0.${digit}`);
  // `x \approx 8.3` reads as `x = 8.3` (the value); after anything but a lone variable, the approximation is dropped.
  s = s.replace(/^\s*([a-zA-Z])\s*\\approx\s*/, "$1 = ");
  s = s.replace(/\\approx.*$/, "");
  // `t \in [8, 17)` is the set; a base written as a subscript of a number (17_{10}, 1010_2) is dropped, as latex2sympy does.
  s = s.replace(/^\s*[a-zA-Z]\s*\\in\s+/, "");
  // An angle's name is a name: `\angle A = 80^\circ` assigns 80.
  s = s.replace(/\\angle\s*([A-Z]{1,3})(?![a-zA-Z])/g, "$1");
  s = s.replace(/(\d)\s*_\s*(?:\{\s*\d+\s*\}|\d)/g, "$1");
  s = s.replace(/\s+/g, " ").trim();
  s = s.replace(/^[,;:]+|[,;.:]+$/g, "").trim();
  return s;
}
