/**
 * The mathematical objects an answer can denote (latex2sympy2_extended's output types): scalars,
 * plain symbols/words, finite sets, tuples, intervals and their unions, relation chains, set
 * membership and matrices, parsed from normalized LaTeX.
 */
import { derivative, numericValue, parseScalar, type Scalar } from "./cas.js";

export type RelOp = "=" | "<" | ">" | "<=" | ">=" | "!=";

export type Value =
  | { kind: "scalar"; s: Scalar }
  | { kind: "symbol"; name: string }
  | { kind: "set"; items: Value[] }
  | { kind: "tuple"; items: Value[] }
  | { kind: "interval"; lo: Value; hi: Value; loOpen: boolean; hiOpen: boolean }
  | { kind: "union"; items: Value[] }
  | { kind: "relation"; ops: RelOp[]; terms: Value[] }
  | { kind: "element"; x: Value; set: Value }
  | { kind: "matrix"; rows: Value[][] };

const OPEN = new Set(["(", "[", "{"]);
const CLOSE = new Set([")", "]", "}"]);

/** Splits `s` at depth-0 occurrences of `sep` (a regex matched at each position). */
export function splitTop(s: string, sep: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let last = 0;
  const sticky = new RegExp(sep.source, "y");
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\") {
      if (s.startsWith("\\begin", i)) depth++;
      else if (s.startsWith("\\end", i)) depth--;
      else if (s[i + 1] === "{" || s[i + 1] === "}") {
        depth += s[i + 1] === "{" ? 1 : -1;
        i++;
        continue;
      }
    }
    if (OPEN.has(c)) depth++;
    else if (CLOSE.has(c)) depth--;
    else if (depth === 0) {
      sticky.lastIndex = i;
      const m = sticky.exec(s);
      if (m && m[0].length > 0) {
        parts.push(s.slice(last, i));
        last = i + m[0].length;
        i = last - 1;
      }
    }
  }
  parts.push(s.slice(last));
  return parts;
}

/** Index of the bracket closing the one opening at 0 (any bracket kind closes), or -1. */
function matchingClose(s: string): number {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && (s[i + 1] === "{" || s[i + 1] === "}")) {
      depth += s[i + 1] === "{" ? 1 : -1;
      i++;
      if (depth === 0) return i;
      continue;
    }
    if (OPEN.has(c)) depth++;
    else if (CLOSE.has(c)) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

const REL_RE = /\\leqslant|\\geqslant|\\leq|\\geq|\\le(?![a-zA-Z])|\\ge(?![a-zA-Z])|\\lt|\\gt|\\neq|\\ne(?![a-zA-Z])|<=|>=|!=|=|<|>/;
const REL_MAP: Record<string, RelOp> = {
  "\\leqslant": "<=", "\\geqslant": ">=", "\\leq": "<=", "\\geq": ">=", "\\le": "<=", "\\ge": ">=",
  "\\lt": "<", "\\gt": ">", "\\neq": "!=", "\\ne": "!=", "<=": "<=", ">=": ">=", "!=": "!=", "=": "=", "<": "<", ">": ">",
};

function splitRelations(s: string): { ops: RelOp[]; terms: string[] } {
  const terms = splitTop(s, REL_RE);
  const ops: RelOp[] = [];
  // The operators between the terms, in order: what follows each term up to the next one.
  let rest = s;
  for (const t of terms.slice(0, -1)) {
    rest = rest.slice(t.length);
    const m = new RegExp(`^\\s*(${REL_RE.source})`).exec(rest)!;
    ops.push(REL_MAP[m[1]!]!);
    rest = rest.slice(m[0].length);
  }
  return { ops, terms };
}

function flattenSet(items: Value[]): Value[] {
  return items.flatMap((v) => (v.kind === "set" ? v.items : [v]));
}

function parseMatrix(s: string): Value | null {
  const m = /^\\begin\{([pbvBV]?matrix|array|smallmatrix)\}(?:\{[clr|\s]*\})?([\s\S]*)\\end\{\1\}$/.exec(s);
  if (!m) return null;
  const rows = m[2]!
    .split(/\\\\/)
    .map((r) => r.trim())
    .filter((r) => r.length > 0 && !/^\\hline$/.test(r));
  const out: Value[][] = [];
  for (const r of rows) {
    const cells = r.split("&").map((c) => parseItem(c.trim()));
    if (cells.some((c) => c === null)) return null;
    out.push(cells as Value[]);
  }
  return out.length ? { kind: "matrix", rows: out } : null;
}

type Matrix = Extract<Value, { kind: "matrix" }>;

/** The determinant of a square matrix of scalars, as LaTeX (cofactor expansion), or null. */
function determinant(rows: Value[][]): string | null {
  const n = rows.length;
  if (n === 0 || n > 4 || rows.some((r) => r.length !== n || r.some((c) => c.kind !== "scalar"))) return null;
  const cell = (i: number, j: number) => `(${(rows[i]![j] as { s: Scalar }).s.latex})`;
  if (n === 1) return cell(0, 0);
  const terms: string[] = [];
  for (let j = 0; j < n; j++) {
    const minor = determinant(rows.slice(1).map((r) => r.filter((_, k) => k !== j)));
    if (minor === null) return null;
    terms.push(`${j % 2 === 0 ? "+" : "-"}${cell(0, j)}(${minor})`);
  }
  return terms.join("");
}

/** A product of matrices written side by side (or with \cdot / \times): latex2sympy's MatMul, done out. */
function matrixProduct(s: string): Matrix | null {
  // A scalar in front (`\frac{1}{2}\begin{pmatrix}…`) multiplies every entry (MatMul with a number).
  const start = s.indexOf("\\begin");
  const lead = start > 0 ? s.slice(0, start).replace(/\\(?:cdot|times)\s*$/, "").trim() : "";
  if (lead) {
    if (/[=<>,;]|\\(?:[lg]eq?|neq?|approx|in|[lg]t)(?![a-zA-Z])/.test(lead)) return null;
    const k = parseScalar(lead);
    const m = k ? matrixProduct(s.slice(start)) : null;
    if (!k || !m || m.rows.flat().some((c) => c.kind !== "scalar")) return null;
    const rows = m.rows.map((r) => r.map((c) => parseScalar(`(${lead})(${(c as { s: Scalar }).s.latex})`)));
    if (rows.some((r) => r.some((c) => c === null))) return null;
    return { kind: "matrix", rows: rows.map((r) => r.map((c) => ({ kind: "scalar", s: c! }) as Value)) };
  }
  const factors = s
    .trim()
    .split(/(?<=\\end\{[pbvBV]?matrix\}|\\end\{array\})\s*(?:\\cdot|\\times)?\s*(?=\\begin)/)
    .map((t) => parseMatrix(t.trim()));
  if (factors.length === 0 || factors.some((m) => m === null || m.kind !== "matrix")) return null;
  let acc = factors[0] as Matrix;
  for (const m of factors.slice(1) as Matrix[]) {
    const inner = acc.rows[0]!.length;
    if (m.rows.length !== inner || acc.rows.some((r) => r.length !== inner) || [...acc.rows, ...m.rows].flat().some((c) => c.kind !== "scalar")) return null;
    const cell = (v: Value) => (v as { s: Scalar }).s.latex;
    const rows = acc.rows.map((r) =>
      m.rows[0]!.map((_, j) => parseScalar(r.map((x, k) => `(${cell(x)})(${cell(m.rows[k]![j]!)})`).join("+"))),
    );
    if (rows.some((r) => r.some((c) => c === null))) return null;
    acc = { kind: "matrix", rows: rows.map((r) => r.map((c) => ({ kind: "scalar", s: c! }) as Value)) };
  }
  return acc;
}

/** `A + B` of same-shape matrices (each possibly a product), added elementwise. */
function matrixSum(s: string): Value | null {
  if (!s.includes("\\begin")) return null;
  const terms = splitTop(s, /\+/);
  const ms = terms.map((t) => matrixProduct(t));
  if (ms.some((m) => m === null)) return null;
  const mats = ms as Matrix[];
  if (mats.length === 1) return mats[0]!;
  const shape = (m: Matrix) => m.rows.map((r) => r.length).join(",");
  if (mats.some((m) => shape(m) !== shape(mats[0]!))) return null;
  const rows = mats[0]!.rows.map((r, i) =>
    r.map((_, j) => {
      const cells = mats.map((m) => m.rows[i]![j]!);
      if (cells.some((c) => c.kind !== "scalar")) return null;
      return parseScalar(cells.map((c) => `(${(c as { s: { latex: string } }).s.latex})`).join("+"));
    }),
  );
  if (rows.some((r) => r.some((c) => c === null))) return null;
  return { kind: "matrix", rows: rows.map((r) => r.map((c) => ({ kind: "scalar", s: c! }) as Value)) };
}

function parseItem(raw: string): Value | null {
  let s = raw.trim().replace(/^[.,;]+|[.,;]+$/g, "").trim();
  if (!s) return null;
  // A whole-item bracketed group: set, interval, tuple or plain parentheses.
  if (s.startsWith("\\{") && s.endsWith("\\}") && matchingClose(s) === s.length - 1) {
    const inner = s.slice(2, -2);
    const items = splitTop(inner, /,|;/).map(parseItem);
    if (items.some((v) => v === null)) return null;
    return { kind: "set", items: flattenSet(items as Value[]) };
  }
  if (OPEN.has(s[0]!) && CLOSE.has(s[s.length - 1]!) && matchingClose(s) === s.length - 1) {
    const open = s[0]!;
    const close = s[s.length - 1]!;
    const inner = s.slice(1, -1);
    // ordered_tuple takes semicolon_elements: `(0;2;0)` is a triple (and never an interval).
    const semicolons = splitTop(inner, /;/).length > 1;
    const elems = splitTop(inner, /,|;/);
    if (open === "{" && close === "}") {
      if (elems.length === 1) return parseValue(inner);
      const items = elems.map(parseItem);
      if (items.some((v) => v === null)) return null;
      return { kind: "set", items: flattenSet(items as Value[]) };
    }
    if (elems.length === 1) {
      if (open === "(" && close === ")") return parseValue(inner);
      if (open === "[" && close === "]") return parseValue(inner);
    } else {
      const items = elems.map(parseItem);
      if (items.some((v) => v === null)) return null;
      if (elems.length === 2 && !semicolons && !(open === "(" && close === ")")) {
        // convert_interval: a closed interval [b, a] with a < b would be empty; latex2sympy makes it the pair (b, a).
        const [lo, hi] = [items[0]!, items[1]!];
        const lv = lo.kind === "scalar" ? numericValue(lo.s) : Number.NaN;
        const hv = hi.kind === "scalar" ? numericValue(hi.s) : Number.NaN;
        if (!(open === "[" && close === "]" && hv < lv)) return { kind: "interval", lo, hi, loOpen: open === "(", hiOpen: close === ")" };
      }
      return { kind: "tuple", items: items as Value[] };
    }
  }
  // FUNC_DET of a matrix: its determinant.
  const det = /^\\det\s*(\\begin\{([pbv]?matrix|array)\}[\s\S]*\\end\{\2\})$/.exec(s) ?? /^\\det\s*\((\\begin\{([pbv]?matrix|array)\}[\s\S]*\\end\{\2\})\)$/.exec(s);
  if (det) {
    const m = parseMatrix(det[1]!);
    const d = m && m.kind === "matrix" ? determinant(m.rows) : null;
    const sc = d === null ? null : parseScalar(d);
    return sc ? { kind: "scalar", s: sc } : null;
  }
  // `\frac{d}{dx} f`: latex2sympy's Derivative(f, x), carried out.
  const leibniz = /^\\frac\s*\{\s*d\s*\}\s*\{\s*d\s*([a-z])\s*\}\s*(.+)$/.exec(s);
  if (leibniz) {
    const f = parseScalar(leibniz[2]!);
    const d = f ? derivative(f, leibniz[1]!) : null;
    return d ? { kind: "scalar", s: d } : null;
  }
  // SET_REALS: ℝ is the interval (-∞, ∞).
  if (/^(?:\\mathbb\{R\}|ℝ)$/.test(s)) return { kind: "interval", lo: { kind: "scalar", s: parseScalar("-\\infty")! }, hi: { kind: "scalar", s: parseScalar("\\infty")! }, loOpen: true, hiOpen: true };
  const matrix = parseMatrix(s) ?? matrixSum(s);
  if (matrix) return matrix;
  const unions = splitTop(s, /\\cup(?![a-zA-Z])/);
  if (unions.length > 1) {
    const items = unions.map(parseItem);
    if (items.some((v) => v === null)) return null;
    return { kind: "union", items: items as Value[] };
  }
  const membership = splitTop(s, /\\in(?![a-zA-Z])/);
  if (membership.length === 2) {
    const x = parseItem(membership[0]!);
    const set = parseItem(membership[1]!);
    return x && set ? { kind: "element", x, set } : null;
  }
  const { ops, terms } = splitRelations(s);
  if (ops.length > 0) {
    const parsed = terms.map(parseItem);
    if (parsed.some((v) => v === null)) return null;
    return { kind: "relation", ops, terms: parsed as Value[] };
  }
  const pm = splitTop(s, /\\pm(?![a-zA-Z])|\\mp(?![a-zA-Z])/);
  if (pm.length === 2) {
    const a = pm[0]!.trim();
    const b = pm[1]!.trim();
    const plus = parseScalar(a ? `${a}+${b}` : b);
    const minus = parseScalar(a ? `${a}-(${b})` : `-(${b})`);
    return plus && minus ? { kind: "set", items: [{ kind: "scalar", s: plus }, { kind: "scalar", s: minus }] } : null;
  }
  // COLON is division in the grammar's mp rule, left to right: `6 : 9 : 2` is (6/9)/2.
  const ratio = splitTop(s, /:/);
  if (ratio.length >= 2 && ratio.every((r) => r.trim())) {
    const parts = ratio.map((r) => parseScalar(r));
    if (parts.some((p) => p === null) || parts.slice(1).some((p) => p!.expr.is(0))) return null;
    const sc = parseScalar(ratio.slice(1).reduce((acc, r) => `\\frac{${acc}}{${r}}`, ratio[0]!));
    return sc ? { kind: "scalar", s: sc } : null;
  }
  if (/^[A-Za-z]{2,}$/.test(s) && !/^(?:pi|infty)$/.test(s)) return { kind: "symbol", name: s };
  const sc = parseScalar(s);
  return sc ? { kind: "scalar", s: sc } : null;
}

/** Parses a normalized answer. Comma/semicolon separated answers become a set (latex2sympy's FiniteSet). */
export function parseValue(latex: string): Value | null {
  const s = latex.trim();
  if (!s) return null;
  // semicolon_elements of comma_elements, then convert_elements_to_set_or_tuple: one group is a set of its elements
  // (or the element alone), groups of one element each make a set, other groups become tuples in a set
  // (`p=5,q=2;p=7,q=2` is {(p=5, q=2), (p=7, q=2)}).
  const groups = splitTop(s, /;/).map((g) => splitTop(g, /,|\s+(?:and|or)\s+/).filter((p) => p.trim().length > 0));
  if (groups.some((g) => g.length === 0)) return null;
  const parsed = groups.map((g) => g.map(parseItem));
  if (parsed.some((g) => g.some((v) => v === null))) return null;
  const vals = parsed as Value[][];
  if (vals.length === 1) return vals[0]!.length === 1 ? vals[0]![0]! : { kind: "set", items: flattenSet(vals[0]!) };
  if (vals.every((g) => g.length === 1)) return { kind: "set", items: flattenSet(vals.map((g) => g[0]!)) };
  return { kind: "set", items: vals.map((g) => ({ kind: "tuple", items: g }) as Value) };
}
