/**
 * Equivalence of two parsed answers with Math-Verify's `sympy_expr_eq` rules: assignment/equation
 * unwrapping (x = 2 vs 2), relations (flipped and scaled inequalities, equations with proportional
 * sides), sets (order-free), tuples (ordered), intervals, open interval vs pair, unions, matrices,
 * words/symbols, then scalars through the CAS (see cas.ts).
 */
import {
  difference,
  freeVariables,
  numericValue,
  parseScalar,
  proportional,
  renameVariables,
  scalarsEqual,
  type Scalar,
} from "./cas.js";
import type { RelOp, Value } from "./value.js";

export interface CompareOptions {
  /** Rounding digits when a float literal is compared (Math-Verify's float_rounding). */
  precision: number;
  /** When false, variables are matched by position (f(x) = f(y)). */
  strict: boolean;
  /** Lets `x ∈ [a,b]` and `a ≤ x ≤ b` compare equal. */
  allowSetRelationComp: boolean;
}

export const DEFAULT_COMPARE: CompareOptions = { precision: 6, strict: true, allowSetRelationComp: false };

const INVERSE: Record<RelOp, RelOp> = { "=": "=", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<=" };

function isRelation(v: Value): v is Extract<Value, { kind: "relation" }> {
  return v.kind === "relation";
}
function isEquation(v: Value): boolean {
  return v.kind === "relation" && v.ops.every((o) => o === "=");
}

/**
 * latex2sympy's is_expr_of_only_symbols: symbols, and expressions whose every argument is one (sums, products,
 * |AB|, f(x), a/b); a number anywhere (2x, x - y = x + (-1)·y, x²) makes it an expression.
 */
function onlySymbols(json: unknown): boolean {
  if (typeof json === "string") return !/^'/.test(json) && !["Pi", "ExponentialE", "ImaginaryUnit"].includes(json);
  if (Array.isArray(json)) {
    const [head, ...args] = json;
    if (typeof head !== "string" || args.length === 0) return false;
    if (["Negate", "Subtract", "Sqrt", "Root", "Rational", "Number", "Power", "Complex"].includes(head)) return false;
    return args.every(onlySymbols);
  }
  return false;
}

/** a = … where a is built from symbols only (latex2sympy's is_expr_of_only_symbols). */
function isAssignment(v: Value): boolean {
  if (!isEquation(v) || v.kind !== "relation") return false;
  const lhs = v.terms[0]!;
  if (lhs.kind === "symbol") return true;
  if (lhs.kind === "tuple") return lhs.items.every((i) => i.kind === "symbol" || (i.kind === "scalar" && onlySymbols(i.s.expr.json)));
  return lhs.kind === "scalar" && onlySymbols(lhs.s.expr.json);
}

function lastTerm(v: Extract<Value, { kind: "relation" }>): Value {
  return v.terms[v.terms.length - 1]!;
}

function collectVariables(v: Value, out: Set<string>): void {
  switch (v.kind) {
    case "scalar":
      for (const x of freeVariables(v.s)) out.add(x);
      return;
    case "symbol":
      return;
    case "set":
    case "tuple":
    case "union":
      v.items.forEach((i) => collectVariables(i, out));
      return;
    case "interval":
      collectVariables(v.lo, out);
      collectVariables(v.hi, out);
      return;
    case "relation":
      v.terms.forEach((i) => collectVariables(i, out));
      return;
    case "element":
      collectVariables(v.x, out);
      collectVariables(v.set, out);
      return;
    case "matrix":
      v.rows.forEach((r) => r.forEach((i) => collectVariables(i, out)));
  }
}

function mapScalars(v: Value, f: (s: Scalar) => Scalar): Value {
  switch (v.kind) {
    case "scalar":
      return { kind: "scalar", s: f(v.s) };
    case "symbol":
      return v;
    case "set":
    case "tuple":
    case "union":
      return { ...v, items: v.items.map((i) => mapScalars(i, f)) };
    case "interval":
      return { ...v, lo: mapScalars(v.lo, f), hi: mapScalars(v.hi, f) };
    case "relation":
      return { ...v, terms: v.terms.map((i) => mapScalars(i, f)) };
    case "element":
      return { ...v, x: mapScalars(v.x, f), set: mapScalars(v.set, f) };
    case "matrix":
      return { ...v, rows: v.rows.map((r) => r.map((i) => mapScalars(i, f))) };
  }
}

function isConstant(v: Value): boolean {
  if (v.kind !== "scalar") return false;
  return freeVariables(v.s).length === 0 || /infty/.test(v.s.latex) || v.s.expr.json === "PositiveInfinity" || v.s.expr.json === "NegativeInfinity";
}

const INF = (sign: 1 | -1): Value => ({ kind: "scalar", s: parseScalar(sign > 0 ? "\\infty" : "-\\infty")! });

/** `a < x < b`, `x ≥ 5`, … as an interval (sympy's Relational.as_set for one variable). */
function relationAsSet(v: Extract<Value, { kind: "relation" }>): Value | null {
  const { ops, terms } = v;
  const lower = (op: RelOp) => op === "<" || op === "<=";
  const inequality = (op: RelOp) => op !== "=" && op !== "!=";
  if (ops.length === 2 && ops.every(inequality) && lower(ops[0]!) === lower(ops[1]!)) {
    const [a, x, b] = terms as [Value, Value, Value];
    if (!isConstant(a) || !isConstant(b) || isConstant(x)) return null;
    const iv: Extract<Value, { kind: "interval" }> = lower(ops[0]!)
      ? { kind: "interval", lo: a, hi: b, loOpen: ops[0] === "<", hiOpen: ops[1] === "<" }
      : { kind: "interval", lo: b, hi: a, loOpen: ops[1] === ">", hiOpen: ops[0] === ">" };
    return absoluteValueSet(x, iv) ?? iv;
  }
  if (ops.length === 1 && ops[0] !== "=" && ops[0] !== "!=") {
    const [l, r] = terms as [Value, Value];
    const op = ops[0]!;
    let varSide: "l" | "r";
    if (isConstant(r) && !isConstant(l)) varSide = "l";
    else if (isConstant(l) && !isConstant(r)) varSide = "r";
    else return null;
    const bound = varSide === "l" ? r : l;
    const upper = varSide === "l" ? lower(op) : !lower(op); // x < b  or  b > x
    const strict = op === "<" || op === ">";
    return upper
      ? { kind: "interval", lo: INF(-1), hi: bound, loOpen: true, hiOpen: strict }
      : { kind: "interval", lo: bound, hi: INF(1), loOpen: strict, hiOpen: true };
  }
  return null;
}

const neg = (v: Value): Value => (v.kind === "scalar" ? { kind: "scalar", s: parseScalar(`-(${v.s.latex})`) ?? v.s } : v);

/** as_set of `a ≤ |x| ≤ b` (a > 0): [-b, -a] ∪ [a, b]; with a ≤ 0 the one interval [-b, b]. */
function absoluteValueSet(x: Value, iv: Extract<Value, { kind: "interval" }>): Value | null {
  if (x.kind !== "scalar") return null;
  const j = x.s.expr.json;
  if (!Array.isArray(j) || j[0] !== "Abs" || typeof j[1] !== "string") return null;
  const lo = iv.lo.kind === "scalar" ? numericValue(iv.lo.s) : Number.NaN;
  if (!Number.isFinite(lo)) return null;
  if (lo <= 0) return { kind: "interval", lo: neg(iv.hi), hi: iv.hi, loOpen: iv.hiOpen, hiOpen: iv.hiOpen };
  return {
    kind: "union",
    items: [
      { kind: "interval", lo: neg(iv.hi), hi: neg(iv.lo), loOpen: iv.hiOpen, hiOpen: iv.loOpen },
      { kind: "interval", lo: iv.lo, hi: iv.hi, loOpen: iv.loOpen, hiOpen: iv.hiOpen },
    ],
  };
}

function isSetLike(v: Value): boolean {
  return v.kind === "set" || v.kind === "interval" || v.kind === "union";
}

function sortKey(v: Value): number {
  const u = v.kind === "relation" && isAssignment(v) ? lastTerm(v) : v;
  return u.kind === "scalar" ? numericValue(u.s) : Number.NaN;
}

function pairwise(a: Value[], b: Value[], o: CompareOptions): boolean {
  return a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]!, o));
}

/** Order-free matching of two finite collections (empty symmetric difference). */
function matchAll(a: Value[], b: Value[], o: CompareOptions): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  const order = (xs: Value[]) => xs.map((x, i) => [sortKey(x), i] as const).sort((p, q) => (p[0] - q[0]) || 0).map((p) => p[1]);
  const bo = order(b);
  for (const i of order(a)) {
    const j = bo.find((k) => !used[k] && valuesEqual(a[i]!, b[k]!, o));
    if (j === undefined) return false;
    used[j] = true;
  }
  return true;
}

function distinct(items: Value[], o: CompareOptions): Value[] {
  return items.filter((x, i) => !items.slice(0, i).some((y) => valuesEqual(x, y, o)));
}

function compareSets(g: Value, p: Value, o: CompareOptions): boolean {
  const gs: Value = g.kind === "set" || g.kind === "tuple" || g.kind === "interval" || g.kind === "union" ? g : { kind: "set", items: [g] };
  const ps: Value = p.kind === "set" || p.kind === "tuple" || p.kind === "interval" || p.kind === "union" ? p : { kind: "set", items: [p] };
  if (gs.kind === "interval" && ps.kind === "interval") {
    return gs.loOpen === ps.loOpen && gs.hiOpen === ps.hiOpen && valuesEqual(gs.lo, ps.lo, o) && valuesEqual(gs.hi, ps.hi, o);
  }
  if (gs.kind === "union" && ps.kind === "union") return matchAll(gs.items, ps.items, o);
  if ((gs.kind === "set" || gs.kind === "tuple") && (ps.kind === "set" || ps.kind === "tuple")) {
    // Sets ignore repeats, as sympy's FiniteSet: {8, 8, 17} = {8, 17}.
    if (gs.kind === "set" && ps.kind === "set") return matchAll(distinct(gs.items, o), distinct(ps.items, o), o);
    if (gs.kind === "set" && ps.kind === "tuple" && !o.strict) return matchAll(gs.items, ps.items, o);
    return pairwise(gs.items, ps.items, o);
  }
  // (1,2) is both an open interval and a pair.
  if (gs.kind === "interval" && gs.loOpen && gs.hiOpen && (ps.kind === "set" || ps.kind === "tuple") && ps.items.length === 2)
    return pairwise([gs.lo, gs.hi], ps.items, o);
  if (ps.kind === "interval" && ps.loOpen && ps.hiOpen && (gs.kind === "set" || gs.kind === "tuple") && gs.items.length === 2)
    return pairwise(gs.items, [ps.lo, ps.hi], o);
  if (gs.kind === "interval" && ps.kind === "tuple" && ps.items.length === 2 && gs.loOpen && gs.hiOpen)
    return pairwise([gs.lo, gs.hi], ps.items, o);
  return false;
}

function scalarOf(v: Value): Scalar | null {
  return v.kind === "scalar" ? v.s : null;
}

function compareRelations(g: Extract<Value, { kind: "relation" }>, p: Extract<Value, { kind: "relation" }>, o: CompareOptions): boolean {
  if (g.ops.length !== p.ops.length) return false;
  for (let i = 0; i < g.ops.length; i++) {
    if (!compareSingleRelation(g.ops[i]!, g.terms[i]!, g.terms[i + 1]!, p.ops[i]!, p.terms[i]!, p.terms[i + 1]!, o)) return false;
  }
  return true;
}

function compareSingleRelation(gop: RelOp, gl: Value, gr: Value, pop: RelOp, pl: Value, pr: Value, o: CompareOptions): boolean {
  const [a, b, c, d] = [scalarOf(gl), scalarOf(gr), scalarOf(pl), scalarOf(pr)];
  if (!a || !b || !c || !d) return gop === pop && valuesEqual(gl, pl, o) && valuesEqual(gr, pr, o);
  const gd = difference(a, b);
  if (gop === pop) {
    if (scalarsEqual(gd, difference(c, d), o)) return true;
    // Same solution set: sides proportional (any nonzero factor for =, positive for inequalities).
    return proportional(gd, difference(c, d), gop === "=" || gop === "!=" ? 0 : 1);
  }
  if (INVERSE[gop] === pop) {
    if (scalarsEqual(gd, difference(d, c), o)) return true;
    return proportional(gd, difference(c, d), -1);
  }
  return false;
}

function symbolText(v: Value): string | null {
  if (v.kind === "symbol") return v.name;
  if (v.kind === "scalar") {
    const t = v.s.latex.replace(/\s+/g, "").replace(/\\mathit\{(\w+)\}/g, "$1");
    return /^[A-Za-z]+$/.test(t) ? t : null;
  }
  return null;
}

function compareSymbols(g: Value, p: Value): boolean {
  // \text{e} is a symbol named e (normalize.ts), equal to Euler's number only when compared alone.
  const a = symbolText(g)?.replace(/^textE$/, "e") ?? null;
  const b = symbolText(p)?.replace(/^textE$/, "e") ?? null;
  if (a === null || b === null) return false;
  const na = a.length > 1 ? a.toLowerCase() : a;
  const nb = b.length > 1 ? b.toLowerCase() : b;
  return na === nb || (a.toLowerCase() === "e" && b.toLowerCase() === "e");
}

function sameStructure(g: Value, p: Value): boolean {
  return JSON.stringify(g, replacer) === JSON.stringify(p, replacer);
}
function replacer(key: string, value: unknown): unknown {
  if (key === "s" && value && typeof value === "object" && "expr" in value) {
    // A float literal keeps its text: the CAS folds 8270.953 × 10³ to an integer that sympy's floats do not reach.
    const sc = value as Scalar;
    return JSON.stringify([sc.expr.json, /\d\.\d/.test(sc.latex) ? sc.latex : ""]);
  }
  return value;
}

/** Math-Verify's sympy_expr_eq over parsed values. Not symmetric: `g` is the gold answer. */
export function valuesEqual(gold: Value, pred: Value, o: CompareOptions = DEFAULT_COMPARE): boolean {
  let g = gold;
  let p = pred;
  if (!o.strict) {
    const gv = new Set<string>();
    const pv = new Set<string>();
    collectVariables(g, gv);
    collectVariables(p, pv);
    if (gv.size === pv.size && gv.size > 0) {
      const gs = [...gv].sort();
      const mapping: Record<string, string> = {};
      [...pv].sort().forEach((v, i) => (mapping[v] = gs[i]!));
      p = mapScalars(p, (s) => renameVariables(s, mapping));
    }
  }
  const gAssign = isAssignment(g);
  const pAssign = isAssignment(p);
  if (gAssign && g.kind === "relation") g = { kind: "relation", ops: ["="], terms: [g.terms[0]!, lastTerm(g)] };
  if (pAssign && p.kind === "relation") p = { kind: "relation", ops: ["="], terms: [p.terms[0]!, lastTerm(p)] };
  if (isEquation(p) && !isEquation(g) && p.kind === "relation") p = lastTerm(p);
  else if (gAssign && !isEquation(p) && g.kind === "relation") g = lastTerm(g);

  if (o.allowSetRelationComp) {
    if (g.kind === "element") g = g.set;
    if (p.kind === "element") p = p.set;
    if (isRelation(p) && isSetLike(g)) p = relationAsSet(p) ?? p;
  }
  if (isRelation(g) && (isSetLike(p) || p.kind === "tuple")) g = relationAsSet(g) ?? g;
  // `x \in S` against a set is S, whatever allowSetRelationComp says (Math-Verify compares the set).
  if (p.kind === "element" && g.kind !== "element" && p.x.kind === "symbol") p = p.set;
  if (g.kind === "element" && p.kind !== "element" && g.x.kind === "symbol") g = g.set;

  if (sameStructure(g, p)) return true;
  if (isRelation(g) && isRelation(p)) return compareRelations(g, p, o);
  if (isRelation(g) || isRelation(p)) return false;
  if (g.kind === "matrix" || p.kind === "matrix") {
    if (g.kind !== "matrix" || p.kind !== "matrix") return false;
    const pm = p;
    return g.rows.length === pm.rows.length && g.rows.every((r, i) => pairwise(r, pm.rows[i]!, o));
  }
  if (g.kind === "element" || p.kind === "element") {
    return g.kind === "element" && p.kind === "element" && valuesEqual(g.x, p.x, o) && valuesEqual(g.set, p.set, o);
  }
  if (isSetLike(g) || isSetLike(p) || g.kind === "tuple" || p.kind === "tuple") return compareSets(g, p, o);
  if (g.kind === "symbol" || p.kind === "symbol") return compareSymbols(g, p);
  if (compareSymbols(g, p)) return true;
  return g.kind === "scalar" && p.kind === "scalar" && scalarsEqual(g.s, p.s, o);
}
