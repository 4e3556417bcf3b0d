/**
 * From an extracted answer to what the value parser reads, in two steps:
 *
 * 1. `normalizeLatex`: Math-Verify's own normalization (latex2sympy2_extended's `normalize_latex`, math-normalization.ts),
 *    whose output is also the answer's string fallback.
 * 2. `parserLatex`: what latex2sympy's lexer and grammar do that the value parser (value.ts, over the Compute Engine)
 *    does not do by itself — each rule below names the latex2sympy behaviour it reproduces. `null` means latex2sympy
 *    would not parse the answer at all (then only the string fallback can match).
 */
import { mathVerifyNormalize, type MathNormalizationConfig } from "./math-normalization.js";

export type BoxedMode = "all" | "last" | "none";

/**
 * The NormalizationConfig switches callers set (latex2sympy2_extended): open-r1's accuracy reward parses completions
 * with `malformed_operators=False, nits=False`, so `\frac12`, `\sqrt3`, `\frac ab` are not repaired there and do not parse.
 */
export interface NormalizationOptions {
  malformedOperators: boolean;
}

export const DEFAULT_NORMALIZATION: NormalizationOptions = { malformedOperators: true };

export function normalizationConfig(boxed: BoxedMode, options: NormalizationOptions): MathNormalizationConfig {
  return { basicLatex: true, units: true, malformedOperators: options.malformedOperators, nits: options.malformedOperators, boxed };
}

/** Math-Verify's normalization of an extracted answer (`normalize_latex` with the extraction's config). */
export function normalizeLatex(input: string, boxed: BoxedMode = "all", options: NormalizationOptions = DEFAULT_NORMALIZATION): string {
  return mathVerifyNormalize(input, normalizationConfig(boxed, options));
}

/** `\frac` or `\sqrt` with an argument not in braces: what latex2sympy's grammar rejects unless repaired. */
const MALFORMED_OPERATOR_RE = /\\frac(?!\s*\{)|\\frac\s*\{[^{}]*\}(?!\s*\{)|\\sqrt(?!\s*[[{])/;

// The lexer's skipped tokens (WS, THINSPACE, MEDSPACE, THICKSPACE, QUAD, QQUAD, NEG*SPACE, DOLLAR_SIGN, IGNORE).
const SKIPPED_RE = /\\(?:thinspace|medspace|thickspace|negthinspace|negmedspace|negthickspace|qquad|quad|vrule|vcenter|vbox|vskip|vspace|hfil)|\\[,:;!$]/g;
// The grammar's `degree` postfix (convert_degrees=False: the value is kept as it is).
const DEGREE_RE = /\^\s*(?:\\circ|\\degree|\\circle|°)(?![a-zA-Z])|\^\{\s*(?:\\circ|\\degree|\\circle|°)\s*\}/g;
// ACCENT tokens whose braces hold a name: \text{…}, \mbox{…} (spaces and parentheses dropped), \mathbb{…}, \vec{…}, ….
const TEXT_RE = /\\(?:text|mbox|textit|textbf|textnormal)\s?\{((?:\\\}|[^}])*?)\}/g;

/** Integers set side by side (after skipped spaces): latex2sympy's mixed-number rule makes `402\,005` 402 + 5. */
function mixedNumberSums(s: string): string {
  const re = /(?<![\d.}\w^_])(\d+)\s+(\d+)(?![\d.])/;
  let m: RegExpExecArray | null;
  let out = s;
  while ((m = re.exec(out))) {
    const sum = BigInt(m[1]!) + BigInt(m[2]!.replace(/^0+(?=\d)/, ""));
    out = out.slice(0, m.index) + sum.toString() + out.slice(m.index + m[0].length);
  }
  return out;
}

/** `\binom{a}{k}` for a small whole k as the falling product a(a-1)…(a-k+1)/k! (sympy expands binomial so); else factorials. */
function binomials(s: string): string {
  // The grammar's other binomial form, `{n \choose k}`.
  s = s.replace(/\{([^{}]*?)\\choose(?![a-zA-Z])([^{}]*)\}/g, "\\binom{$1}{$2}");
  return s.replace(/\\[dt]?binom\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, (_m, n: string, k: string) => {
    const kk = /^\s*\d+\s*$/.test(k) ? Number(k) : -1;
    if (kk >= 0 && kk <= 12) {
      if (kk === 0) return "1";
      const factors = Array.from({ length: kk }, (_, i) => (i === 0 ? `(${n})` : `((${n})-${i})`)).join("");
      let f = 1;
      for (let i = 2; i <= kk; i++) f *= i;
      return `\\frac{${factors}}{${f}}`;
    }
    return `\\frac{(${n})!}{(${k})!((${n})-(${k}))!}`;
  });
}

// Every command the lexer has a token for (PS.g4's literals); a command is read as the longest of them it starts with.
const COMMANDS = new Set(
  (
    "Bbbk Delta Diamond Finv Game Gamma Im Lambda Leftrightarrow Longrightarrow Omega Phi Pi Psi Re Rightarrow Sigma Theta " +
    "Upsilon Xi acute alpha angle approx arccos arccosh arccot arccsc arcosh arcsec arcsin arcsinh arctan arctanh arsinh artanh " +
    "backprime bar begin beta bigstar binom blacklozenge blacksquare blacktriangle bm boldsymbol boxed breve cap cdot ceil cfrac " +
    "char check chi choose circledS clubsuit complement cos cosh cot csc cup dbinom ddot delta det dfrac diagdown diagup " +
    "diamondsuit div dot ell emptyset end epsilon equiv eta eth exp exponentialE flat floor frac gamma gcd ge geq geqslant grave " +
    "gt hat hbar heartsuit hfil hslash imath in infty int iota jmath kappa lambda langle lbrace lbrack lceil lcm le " +
    "leftrightarrow leq leqslant lfloor lgroup lim llcorner ln log longrightarrow lozenge lrcorner lt lvert mathbb mathbf mathbin " +
    "mathcal mathclap mathclose mathellipsis mathfrak mathinner mathit mathnormal mathop mathopen mathord mathpunct mathrel " +
    "mathring mathrlap mathrm mathscr mathsf mathsterling mathtt max mbox measuredangle medspace mho min mod mp mu nabla natural " +
    "ne negmedspace negthickspace negthinspace neq nexists not notin nu omega omicron operatorname over overline overrightarrow " +
    "partial phantom phi pi pm prime prod psi qquad quad rangle rbrace rbrack rceil rfloor rgroup rho rightarrow rvert sec " +
    "setminus sharp sigma sin sinh spadesuit sphericalangle sqrt square subseteq sum supseteq surd tan tanh tau tbinom text " +
    "textbf textit textnormal tfrac theta thickspace thinspace tilde times to triangle triangledown ulcorner upsilon urcorner " +
    "varepsilon variable varnothing varphi varpi varrho varsigma vartheta vartriangle vbox vcenter vec vert vrule vskip vspace " +
    "widecheck widetilde wp xRightarrow xi xrightarrow zeta"
  ).split(" "),
);
// ACCENT commands are tokens only with their braces (`\text{…}`), the degree commands only after a caret.
const NEEDS_BRACE = /^(?:acute|bar|overline|breve|check|widecheck|dot|ddot|grave|hat|tilde|widetilde|vec|overrightarrow|bm|boldsymbol|text|textit|textbf|textnormal|mathbb|mathbin|mathbf|mathcal|mathclap|mathclose|mathellipsis|mathfrak|mathinner|mathit|mathnormal|mathop|mathopen|mathord|mathpunct|mathrel|mathring|mathrlap|mathrm|mathscr|mathsf|mathsterling|mathtt|mbox)$/;
// Characters with a token of their own (PS.g4), besides ASCII letters, digits and spaces.
const TOKEN_CHARS = new Set([..."!%&()*+,-./:;<=>[]^_{|}'\\±×÷°ΓΔΘΛΞΠΣΥΦΨΩαβγδεζηθικλμνξοπρςστυφχψωϑϕϖϱϵℂℕℙℚℝℤℵℶℷℸ∅∉−∓∔∕∖∗∘∙∩∪∸≁≃≄≅≇≈≉≊≋≎≏≐≑≒≓≔≕≖≗≟≠≡≢≣≤≥≦≧≪≫≲≳≺≻≾≿⊆⊇⊕⊗⊞⊠⊡⋄⋅⋆⋈⋉⋊⋖⋗"]);

/** latex2sympy's lexer stops (and the parse fails) at a character or command it has no token for: `∞`, `²`, `\dots`, `~`. */
export function lexerRejects(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\") {
      const m = /^[a-zA-Z]+/.exec(s.slice(i + 1));
      if (!m) {
        i++;
        continue;
      }
      const name = m[0];
      let ok = false;
      for (let n = name.length; n > 0 && !ok; n--) {
        const prefix = name.slice(0, n);
        if (!COMMANDS.has(prefix)) continue;
        if (NEEDS_BRACE.test(prefix)) ok = n === name.length && /^\s?\{/.test(s.slice(i + 1 + n));
        else ok = true;
      }
      // The degree literals `^\circ`, `^{\circ}`, `^\degree`, `^\circle`.
      if (!ok && /^(?:circ|circle|degree)$/.test(name) && /\^\s*\{?\s*$/.test(s.slice(0, i))) ok = true;
      if (!ok) return true;
      i += name.length;
      continue;
    }
    if (/[a-zA-Z0-9\s]/.test(c)) continue;
    if (c === "~" && s[i + 1] === "=") continue;
    if (!TOKEN_CHARS.has(c)) return true;
  }
  return false;
}

const RELATION_RE = /=|<|>|\\(?:[lg]eq?|[lg]eqslant|neq?|equiv|approx|[lg]t)(?![a-zA-Z])|[≤≥≠≡≈]/;

/** The answer's top-level comma / semicolon parts. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\") {
      i++;
      continue;
    }
    if ("([{".includes(c)) depth++;
    else if (")]}".includes(c)) depth--;
    else if (depth === 0 && (c === "," || c === ";")) {
      parts.push(s.slice(last, i));
      last = i + 1;
    }
  }
  parts.push(s.slice(last));
  return parts;
}

// Commands whose braces hold a name, not maths (copied as they are by symbolCase).
const NAME_ARGUMENT = /^(?:begin|end|operatorname|mathbb|mathit|mathcal|mathfrak|mathscr|text|mbox)$/;

/**
 * latex2sympy's symbols: lowercase_symbols=True makes `A` and `a` one symbol; `I` is the imaginary unit, `i` a plain
 * symbol, `E` (the E_NOTATION_E token) the symbol e, and only a bare `e` is Euler's number.
 */
function symbolCase(s: string): string {
  // Summation indices stay as the CAS reads them.
  const sums = /\\(?:sum|prod)(?![a-zA-Z])/.test(s);
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\") {
      const m = /^\\([a-zA-Z]+)\s*/.exec(s.slice(i));
      if (!m) {
        out += s.slice(i, i + 2);
        i++;
        continue;
      }
      out += m[0];
      i += m[0].length - 1;
      if (NAME_ARGUMENT.test(m[1]!) && s[i + 1] === "{") {
        const close = s.indexOf("}", i + 1);
        if (close < 0) continue;
        out += s.slice(i + 1, close + 1);
        i = close;
      }
      continue;
    }
    if (c === "I") {
      // convert_atom_expr returns sympy.I for the letter I before looking at its scripts: I^2 is I.
      out += "i";
      const scripts = /^(?:\s*[_^]\s*(?:\{[^{}]*\}|\\?[a-zA-Z0-9]))+/.exec(s.slice(i + 1));
      if (scripts) i += scripts[0].length;
    }
    else if (c === "i" && !sums) out += "\\mathit{ii}";
    else if (c === "E") out += "\\mathit{textE}";
    else if (/[A-Z]/.test(c)) out += c.toLowerCase();
    else out += c;
  }
  return out;
}

/**
 * latex2sympy's reading of a normalized answer, as input for value.ts; null where latex2sympy fails.
 */
export function parserLatex(norm: string, options: NormalizationOptions = DEFAULT_NORMALIZATION): string | null {
  let s = norm;
  if (lexerRejects(s)) return null;
  // PERCENT_NUMBER is a number, at most one space, then the sign: `16\,\%` or a lone `\%` has no token.
  if (/(?<!\d\s?|\\infty)\\?%/.test(s.replace(/\\%/g, "%"))) return null;
  // A set literal takes no script (`\mathbb{Z}^{+}`), nor does a bracket (`(7^{4})_{10}`); an environment other than a
  // matrix has no token: all syntax errors.
  if (/\\mathbb\{[NZQRCP]\}\s*[\^_]/.test(s)) return null;
  if (/[)\]]\s*_/.test(s) || /\\(?:begin|end)\s*\{(?!(?:[pbv]?matrix|array)\})/.test(s)) return null;
  if (!options.malformedOperators && MALFORMED_OPERATOR_RE.test(s.replace(/\\[dtc]frac/g, "\\frac"))) return null;
  // Lexer errors: characters and commands with no token (a tilde not in `~=`, a lone degree sign or \circ, \left. …).
  if (/~(?!=)|\\(?:left|right)(?![a-zA-Z])|\\circ(?![a-zA-Z])(?<!\^\s*\\circ)|(?<!\^\s*\{?\s*)°/.test(s.replace(DEGREE_RE, ""))) return null;
  s = s.replace(SKIPPED_RE, " ");
  // Bracket tokens written as commands: L_PAREN_VISUAL `\(` (what a doubled `\\left(` leaves), \lbrace, \lbrack, \vert.
  s = s.replace(/\\\(/g, "(").replace(/\\\)/g, ")").replace(/\\lbrace(?![a-zA-Z])/g, "\\{").replace(/\\rbrace(?![a-zA-Z])/g, "\\}");
  s = s.replace(/\\lbrack(?![a-zA-Z])/g, "[").replace(/\\rbrack(?![a-zA-Z])/g, "]").replace(/\\[lr]?vert(?![a-zA-Z])/g, "|");
  // A trailing period, comma, colon or semicolon, or a leading separator, leaves the grammar without an operand.
  if (/[.,;:]\s*$|^\s*[,;:]/.test(s)) return null;
  // `2,343` and `4,748,023` alone are numbers (latex2sympy's comma_number_regex on the whole answer), not sets.
  if (/^\s*-?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*$/.test(s)) s = s.replace(/,/g, "");
  s = s.replace(/\\[dtc]frac(?![a-zA-Z])/g, "\\frac");
  s = s.replace(DEGREE_RE, "");
  // Words in \text{} are one symbol each (spaces and parentheses dropped); connectives are list separators already.
  s = s.replace(TEXT_RE, (_m, inner: string) => {
    const name = inner.replace(/\s+/g, "").replace(/[()]/g, "");
    // \text{e} is the symbol e, not Euler's number (only a bare `e` is the EXP_E token).
    if (name === "e") return " \\mathit{textE} ";
    return name ? ` ${name} ` : " ";
  });
  s = s.replace(/\\(?:mathbf|mathit|mathrm|mathsf|boldsymbol|bm)\s*\{(?!textE\})([^{}]*)\}/g, " $1 ");
  // OTHER_SYMBOL commands are symbols named after them (\varnothing is not the empty set; \emptyset is).
  s = s.replace(/\\(varnothing|nabla|ell|hbar|aleph|square|triangle|prime)(?![a-zA-Z])/g, " $1 ");
  // \pm makes an element of its own (plus_minus_expr), never part of a relation: `16 \equiv 2 \pmod{7}` does not parse.
  // (set_elements_relation allows `x = \pm 2`: an atom, then = or \in, then the elements.)
  const assigned = /^\s*[a-zA-Z](?:_\{?\w+\}?)?\s*(?:=|\\in(?![a-zA-Z]))/.exec(s);
  const elements = assigned ? s.slice(assigned[0].length) : s;
  if (/\\(?:pm|mp)|±|∓/.test(elements) && splitTopLevel(elements).some((part) => /\\(?:pm|mp)|±|∓/.test(part) && RELATION_RE.test(part))) return null;
  // E_NOTATION: `3E3`, `1.5E-2` is one float.
  s = s.replace(/(?<![\w.])(\d*\.?\d+)E([+-]?\d+)(?![\w.])/g, (_m, m: string, e: string) => {
    const v = Number(`${m}e${e}`);
    return Number.isInteger(v) ? `${v}.0` : String(v);
  });
  s = mixedNumberSums(s);
  s = binomials(s);
  // FUNC_GCD / FUNC_LCM over whole numbers (sympy's gcd, lcm evaluated).
  s = s.replace(/\\(?:operatorname\{(gcd|lcm)\}|(gcd|lcm))\s*\(\s*(\d+(?:\s*,\s*\d+)+)\s*\)/g, (_m, a?: string, b?: string, args?: string) => {
    const nums = args!.split(",").map((x) => BigInt(x.trim()));
    const g2 = (x: bigint, y: bigint): bigint => (y === 0n ? x : g2(y, x % y));
    const value = (a ?? b) === "gcd" ? nums.reduce(g2) : nums.reduce((x, y) => (x * y) / g2(x, y));
    return value.toString();
  });
  // FUNC_EXP with a bare argument: `\exp 2` is e².
  s = s.replace(/\\exp\s*(\d+(?:\.\d+)?|[a-zA-Z])(?![\w.])/g, "e^{$1}").replace(/\\exp\s*\{/g, "e^{");
  // \angle is an OTHER_SYMBOL: `\angle A = 80^\circ` is angle·a = 80, an assignment of 80.
  s = s.replace(/\\angle(?![a-zA-Z])\s*/g, " \\mathit{angle} ");
  s = symbolCase(s);
  // A leading decimal point (.5) is a NUMBER token.
  s = s.replace(/(^|[^\d.\w}])\.(\d)/g, (_m, before: string, digit: string) => `${before}0.${digit}`);
  // APPROX: `x \approx 8.3` gives 8.3 when the left side is only symbols, else the left side.
  const approx = s.split(/\\approx(?![a-zA-Z])/);
  if (approx.length > 1) {
    let acc = approx[0]!;
    for (const rhs of approx.slice(1)) acc = /^\s*[a-zA-Z](?:_\{?\w+\}?)?\s*$/.test(acc) ? rhs : acc;
    s = acc;
  }
  // A base written as a subscript of a number (17_{10}, 1010_2): number_subexpr ignores the subscript.
  s = s.replace(/(\d)\s*_\s*(?:\{\s*\d+\s*\}|\d)/g, "$1");
  // `x \in S` is S here (latex2sympy: Eq(x, S), which the comparison unwraps to S).
  s = s.replace(/^\s*[a-zA-Z]\s*\\in(?![a-zA-Z])\s*/, "");
  s = s.replace(/\\%|%/g, "\\%");
  s = s.replace(/\s+/g, " ").trim();
  return s || null;
}
