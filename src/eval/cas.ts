/**
 * The computer-algebra layer: scalar LaTeX is parsed, canonicalized and evaluated by the Cortex
 * Compute Engine (MathJSON). Equivalence of two scalars is decided by (1) structural identity of the
 * canonical forms, (2) exact/rounded numeric comparison when both are constants, (3) the CAS's own
 * simplification of their difference, (4) a randomized identity test: both compiled and evaluated at
 * several random points of their free variables (Schwartz–Zippel style; exact for polynomials with
 * overwhelming probability, and the standard check for rational/radical expressions).
 */
import { ComputeEngine } from "@cortex-js/compute-engine";

type Boxed = ReturnType<ComputeEngine["parse"]>;

let engine: ComputeEngine | undefined;
function ce(): ComputeEngine {
  engine ??= new ComputeEngine();
  return engine;
}

export interface Scalar {
  expr: Boxed;
  /** The source was a bare decimal literal (possibly a percentage): rounding applies to it. */
  isFloat: boolean;
  latex: string;
  /**
   * A float literal inside an expression (8270.953 × 10³, 5/6.): the value sympy's doit() reaches in binary floating
   * point, which is what it compares; absent otherwise.
   */
  floatValue?: number;
}

function hasError(json: unknown): boolean {
  if (Array.isArray(json)) {
    if (json[0] === "Error" || json[0] === "ErrorCode") return true;
    return json.some(hasError);
  }
  return false;
}

const FLOAT_RE = /^-?(?:\d+\.\d*|\.\d+)(?:\\%)?$/;

/** Parses a scalar LaTeX expression; null when the CAS reports a parse error. */
export function parseScalar(latex: string): Scalar | null {
  let src = latex.trim();
  if (!src) return null;
  let pct = false;
  if (/\\%$/.test(src)) {
    pct = true;
    src = src.slice(0, -2).trim();
  }
  // x_{1}, V_2, F_{n-k-1}: one symbol each (the CAS would read them as indexing).
  src = src.replace(/(?<![\\A-Za-z])([A-Za-z])_(?:\{([^{}]+)\}|([A-Za-z0-9]))/g, (_m, base: string, braced?: string, bare?: string) => {
    const sub = (braced ?? bare!).replace(/\s+/g, "").replace(/-/g, "m").replace(/\+/g, "p").replace(/[^A-Za-z0-9]/g, "");
    return `\\operatorname{${base}_${sub}}`;
  });
  let expr = tryParse(src);
  // Capital letters the CAS reads as its own functions (N(…) is numeric evaluation): plain symbols instead.
  if (!expr) expr = tryParse(src.replace(/\\operatorname\{[^{}]*\}|\\[A-Za-z]+|[A-Z]/g, (m) => (m.length === 1 ? `\\mathrm{${m}}` : m)));
  if (!expr) return null;
  if (pct) expr = ce().box(["Divide", expr, 100]);
  const isFloat = FLOAT_RE.test(latex.trim());
  const floatValue = isFloat ? null : scientificFloat(latex);
  return floatValue === null ? { expr, isFloat, latex } : { expr, isFloat, latex, floatValue };
}

function tryParse(src: string): Boxed | null {
  // The CAS reports some inputs it cannot type on the console; `openr1 score` writes its results to stdout.
  const saved = [console.log, console.warn, console.error];
  console.log = console.warn = console.error = () => {};
  try {
    const expr = ce().parse(src);
    return expr.isValid && !hasError(expr.json) ? expr : null;
  } catch {
    return null;
  } finally {
    [console.log, console.warn, console.error] = saved as [typeof console.log, typeof console.warn, typeof console.error];
  }
}

/**
 * Plain arithmetic (digits, . + - * / ^ parentheses) evaluated in binary floating point, as sympy evaluates a Python
 * expression with a float in it (`5/6.` is 5 / 6.0); null for anything else.
 */
export function floatArithmetic(src: string): number | null {
  const tokens = src.replace(/\s+/g, "").match(/\d+\.?\d*|\.\d+|\*\*|[-+*/^()]/g);
  if (!tokens || tokens.join("") !== src.replace(/\s+/g, "")) return null;
  let i = 0;
  const peek = () => tokens[i];
  const atom = (): number => {
    const t = tokens[i++];
    if (t === "(") {
      const v = sum();
      if (tokens[i++] !== ")") throw new Error("paren");
      return v;
    }
    if (t === "-") return -power();
    if (t === "+") return power();
    if (t === undefined || !/\d|\./.test(t)) throw new Error("atom");
    return Number(t);
  };
  const power = (): number => {
    const b = atom();
    if (peek() === "^" || peek() === "**") {
      i++;
      return b ** power();
    }
    return b;
  };
  const product = (): number => {
    let v = power();
    // a / b is Mul(a, Pow(b, -1)) to sympy: the reciprocal is rounded first, then the product.
    while (peek() === "*" || peek() === "/") v = tokens[i++] === "*" ? v * power() : v * (1 / power());
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === "+" || peek() === "-") v = tokens[i++] === "+" ? v + product() : v - product();
    return v;
  };
  try {
    const v = sum();
    return i === tokens.length && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

export function numberScalar(value: string, isPercent: boolean): Scalar {
  let expr = ce().parse(value);
  if (isPercent) expr = ce().box(["Divide", expr, 100]);
  return { expr, isFloat: value.includes("."), latex: value };
}

/** d/dv of a scalar (latex2sympy: `\frac{d}{dx} f` is Derivative(f, x), which doit() carries out). */
export function derivative(s: Scalar, v: string): Scalar | null {
  try {
    const d = ce().box(["D", s.expr.json as Parameters<ComputeEngine["box"]>[0], v]).evaluate();
    return d.isValid && !hasError(d.json) && !JSON.stringify(d.json).includes('"D"') ? { expr: d, isFloat: false, latex: d.latex } : null;
  } catch {
    return null;
  }
}

export function freeVariables(s: Scalar): string[] {
  return [...s.expr.freeVariables].sort();
}

export function renameVariables(s: Scalar, mapping: Record<string, string>): Scalar {
  const subs: Record<string, Boxed> = {};
  for (const [from, to] of Object.entries(mapping)) subs[from] = ce().symbol(to);
  return { ...s, expr: s.expr.subs(subs) };
}

export function difference(a: Scalar, b: Scalar): Scalar {
  return { expr: ce().box(["Subtract", a.expr, b.expr]), isFloat: false, latex: "" };
}

type Evaluator = (vars: Record<string, number>) => number;

function evaluator(s: Scalar): Evaluator | null {
  try {
    const f = s.expr.compile() as unknown as ((v: Record<string, number>) => unknown) | undefined;
    if (typeof f === "function") {
      return (vars) => {
        const r = f(vars);
        return typeof r === "number" ? r : Number.NaN;
      };
    }
  } catch {
    // fall through to substitution + numeric evaluation
  }
  return (vars) => {
    const subs: Record<string, number> = { ...vars };
    const n = s.expr.subs(subs).N();
    const im = (n as unknown as { im?: number }).im ?? 0;
    return im === 0 ? (n.re ?? Number.NaN) : Number.NaN;
  };
}

/** The real value of a constant expression, or NaN. */
export function numericValue(s: Scalar): number {
  const special = boundedOperator(s.expr.json);
  if (special !== null) return special;
  if (s.expr.freeVariables.length > 0) return Number.NaN;
  const n = s.expr.N();
  const im = (n as unknown as { im?: number }).im ?? 0;
  return im === 0 ? (n.re ?? Number.NaN) : Number.NaN;
}

// Gauss–Legendre nodes and weights on [-1, 1] (5 points: exact for polynomials up to degree 9).
const GL_NODES = [0, -0.5384693101056831, 0.5384693101056831, -0.906179845938664, 0.906179845938664];
const GL_WEIGHTS = [0.5688888888888889, 0.47862867049936647, 0.47862867049936647, 0.23692688538159476, 0.23692688538159476];

/**
 * A definite integral or a finite sum / product with numeric bounds, which sympy's doit() evaluates (the CAS leaves
 * them symbolic): the integral by composite Gauss–Legendre quadrature, sums and products term by term. Null otherwise.
 */
function boundedOperator(json: unknown): number | null {
  if (!Array.isArray(json) || !["Integrate", "Sum", "Product"].includes(json[0] as string)) return null;
  const [head, body, bounds] = json as [string, unknown, unknown];
  if (!Array.isArray(bounds) || bounds[0] !== "Tuple" || typeof bounds[1] !== "string") return null;
  const v = bounds[1];
  const lo = typeof bounds[2] === "number" ? bounds[2] : Number.NaN;
  const hi = typeof bounds[3] === "number" ? bounds[3] : Number.NaN;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  let f: ((x: number) => number) | null = null;
  try {
    const g = ce().box(body as Parameters<ComputeEngine["box"]>[0]).compile() as unknown as ((vars: Record<string, number>) => unknown) | undefined;
    if (typeof g === "function") f = (x) => Number(g({ [v]: x }));
  } catch {
    return null;
  }
  if (!f) return null;
  if (head === "Integrate") {
    const parts = 64;
    const h = (hi - lo) / parts;
    let total = 0;
    for (let i = 0; i < parts; i++) {
      const mid = lo + (i + 0.5) * h;
      for (let j = 0; j < GL_NODES.length; j++) total += GL_WEIGHTS[j]! * f(mid + (GL_NODES[j]! * h) / 2);
    }
    const r = (total * h) / 2;
    return Number.isFinite(r) ? r : null;
  }
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi - lo > 100_000) return null;
  let acc = head === "Sum" ? 0 : 1;
  for (let k = lo; k <= hi; k++) acc = head === "Sum" ? acc + f(k) : acc * f(k);
  return Number.isFinite(acc) ? acc : null;
}

/** [re, im] of a constant expression, or null. */
function complexValue(s: Scalar): [number, number] | null {
  if (s.expr.freeVariables.length > 0) return null;
  const n = s.expr.N();
  const re = n.re ?? Number.NaN;
  const im = (n as unknown as { im?: number }).im ?? 0;
  return Number.isFinite(re) && Number.isFinite(im) ? [re, im] : null;
}

function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function close(a: number, b: number, rel: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) <= rel * Math.max(scale, 1e-300) || Math.abs(a - b) < 1e-300;
}

// Deterministic pseudo-random points, so that a verdict never depends on the run.
const POINTS: number[][] = (() => {
  let seed = 0x9e3779b9;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) % 1_000_000) / 1_000_000;
  };
  const positive = Array.from({ length: 4 }, () => Array.from({ length: 16 }, () => 0.35 + 1.9 * rnd()));
  return [...positive, ...Array.from({ length: 2 }, () => Array.from({ length: 16 }, () => -(0.35 + 1.9 * rnd())))];
})();
// The last two points are negative: the symbols are real (sympy: |x| ≠ x, √(x²) ≠ x).

function pointFor(vars: string[], k: number): Record<string, number> {
  const p: Record<string, number> = {};
  vars.forEach((v, i) => (p[v] = POINTS[k]![i % 16]! + 0.013 * Math.floor(i / 16)));
  return p;
}

/**
 * a / b is the same constant at every sampled point (and not 0 / ∞): `sign` restricts its sign.
 * Used for equations (proportional sides describe the same solution set) and inequalities.
 */
export function proportional(a: Scalar, b: Scalar, sign: 1 | -1 | 0): boolean {
  const vars = [...new Set([...a.expr.freeVariables, ...b.expr.freeVariables])].sort();
  const fa = evaluator(a);
  const fb = evaluator(b);
  if (!fa || !fb) return false;
  let ratio: number | undefined;
  let usable = 0;
  for (let k = 0; k < POINTS.length; k++) {
    const p = pointFor(vars, k);
    const va = fa(p);
    const vb = fb(p);
    if (!Number.isFinite(va) || !Number.isFinite(vb)) continue;
    if (va === 0 && vb === 0) continue;
    if (vb === 0 || va === 0) return false;
    const r = va / vb;
    if (ratio === undefined) ratio = r;
    else if (!close(r, ratio, 1e-9)) return false;
    usable++;
  }
  if (ratio === undefined || usable < 2) return false;
  return sign === 0 || Math.sign(ratio) === sign;
}

export interface NumericOptions {
  /** Decimal places both sides are rounded to when either is a float literal. */
  precision: number;
}

/** `m × 10^e` with a decimal mantissa, evaluated as sympy's Float arithmetic does (binary doubles); else null. */
function scientificFloat(latex: string): number | null {
  const m = /^\s*(-?\d*\.\d+)\s*(?:\\times|\\cdot|\*)\s*10\s*\^\s*(?:\{\s*(-?\d+)\s*\}|(\d))\s*$/.exec(latex);
  if (!m) return null;
  const e = Number(m[2] ?? m[3]);
  return e >= 0 ? Number(m[1]) * 10 ** e : Number(m[1]) * (1 / 10 ** -e);
}

/** Scalar equivalence (see the module comment for the strategy). */
export function scalarsEqual(a: Scalar, b: Scalar, opts: NumericOptions): boolean {
  // A float inside an expression is evaluated in binary floating point by sympy's doit(), and a Float never equals an
  // exact number (sympy ≥ 1.13): against an exact value it passes only when simplify(a - b) is exactly 0, i.e. the
  // float computation lands on the exact value rounded (1500.0 = 1500, 2/7. = 2/7), not when it is one ulp off
  // (8270.953 × 10³ ≠ 8270953; 5/6. is 5 · (1/6.) ≠ 5/6).
  const exact = (s: Scalar) => s.floatValue === undefined && !s.isFloat && !/\d\.\d|\d\.(?!\d)/.test(s.latex);
  for (const [f, e] of [[a, b], [b, a]] as const) {
    if (f.floatValue !== undefined && exact(e)) {
      const v = numericValue(e);
      return Number.isFinite(v) && f.floatValue === v;
    }
  }
  if (a.expr.isSame(b.expr)) return true;
  // An integral, sum or product with numeric bounds is a constant (its variable is bound).
  const [ia, ib] = [boundedOperator(a.expr.json), boundedOperator(b.expr.json)];
  if (ia !== null || ib !== null) return close(ia ?? numericValue(a), ib ?? numericValue(b), 1e-9);
  const va = a.expr.freeVariables;
  const vb = b.expr.freeVariables;
  if (va.length === 0 && vb.length === 0) {
    const x = numericValue(a);
    const y = numericValue(b);
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      // Complex constants (2 + 4i = 4i + 2): equal parts.
      const [cx, cy] = [complexValue(a), complexValue(b)];
      return cx !== null && cy !== null && close(cx[0], cy[0], 1e-12) && close(cx[1], cy[1], 1e-12);
    }
    if (a.isFloat || b.isFloat) {
      // sympy_numeric_eq rounds both sides, but Integer.round() stays an Integer, which sympy ≥ 1.13 never finds equal
      // to a Float: against a whole number only an exactly equal float (3.0) passes, through simplify(a - b) = 0.
      const exactInteger = (s: Scalar, v: number) => !s.isFloat && Number.isInteger(v) && !/\d\.\d/.test(s.latex);
      if (exactInteger(a, x) || exactInteger(b, y)) return x === y;
      if (roundTo(x, opts.precision) === roundTo(y, opts.precision)) return true;
    }
    return close(x, y, 1e-12);
  }
  try {
    const d = difference(a, b).expr.simplify();
    if (d.is(0)) return true;
  } catch {
    // the randomized test below decides
  }
  const vars = [...new Set([...va, ...vb])].sort();
  const fa = evaluator(a);
  const fb = evaluator(b);
  if (!fa || !fb) return false;
  let agreed = 0;
  for (let k = 0; k < POINTS.length; k++) {
    const p = pointFor(vars, k);
    const x = fa(p);
    const y = fb(p);
    // Where both sides are undefined over the reals (√x at x < 0) the point says nothing; where one side only is,
    // the two differ on the reals, and sympy (real symbols) does not equate them: √x·√x ≠ x, ln x² ≠ 2 ln x.
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!close(x, y, 1e-9)) return false;
    agreed++;
  }
  return agreed >= 2;
}
