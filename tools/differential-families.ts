/**
 * Answer families for the differential set, written the way models and textbooks write answers: units and words in
 * the box, digit groups, matrices, sets of tuples, relations in the gold, intervals, binomials, choice letters,
 * percentages, degrees, surds, logarithms, functions, and whole responses built around real OpenR1 solutions. Each
 * template draws small random numbers and gives a gold answer and a prediction; whether they match is for the real
 * Math-Verify to say (tools/math-verify-differential.ts), never for this file.
 *
 * `HELD_OUT` names families that were written and judged before the checker was changed for them: their agreement
 * is reported on its own (`--check`) as the estimate for answers nobody here generated.
 */

export interface Pair {
  family: string;
  gold: string;
  pred: string;
}

type Rnd = (lo: number, hi: number) => number;

const R = String.raw;

const NOUNS = ["teachers", "students", "apples", "days", "people", "trees", "yuan", "books", "ways", "pages", "km", "cm", "meters", "minutes", "hours", "coins"];
const LETTERS = ["A", "B", "C", "D", "E"];
const VARS = ["x", "n", "a", "k", "m", "t"];

function gcd(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : gcd(b, a % b);
}

function frac(p: number, q: number): string {
  const g = gcd(p, q);
  const [a, b] = [p / g, q / g];
  if (b === 1) return String(a);
  return a < 0 ? R`-\frac{${-a}}{${b}}` : R`\frac{${a}}{${b}}`;
}

const group3 = (n: number, sep: string) => n.toLocaleString("en-US").replace(/,/g, sep);

/** Templates: [family, gold, pred] for one draw of random numbers. */
export function realisticPairs(rnd: Rnd, pick: <T>(xs: T[]) => T): Pair[] {
  const a = rnd(2, 9), b = rnd(a + 1, 19), c = rnd(2, 9), d = rnd(11, 99), k = rnd(2, 5);
  const big = rnd(1001, 999_999);
  const noun = pick(NOUNS);
  const L = pick(LETTERS);
  const v = pick(VARS);
  const p = rnd(1, 7), q = rnd(p + 1, 12);
  const pairs: [string, string, string][] = [
    // Units and words inside the box (latex2sympy's unit list, \text stripping, \mathrm → \text).
    ["units/text-noun", String(d), R`Hence there are $\boxed{${d} \text{ ${noun}}}$.`],
    ["units/text-noun-no-space", String(d), R`$\boxed{${d}\text{${noun}}}$`],
    ["units/text-rate", String(d), R`The speed is $\boxed{${d} \text{ m/min}}$.`],
    ["units/mathrm-rate", String(d), R`The speed is $\boxed{${d}\,\mathrm{m}/\mathrm{min}}$.`],
    ["units/mathrm-squared", String(d), R`The area is $\boxed{${d} \mathrm{~cm}^{2}}$.`],
    ["units/text-squared", String(d), R`$\boxed{${d} \text{ cm}^2}$`],
    ["units/word-after-box", String(d), R`So the answer is $\boxed{${d}}$ ${noun}.`],
    ["units/word-plain-in-box", String(d), R`$\boxed{${d} ${pick(["cm", "km", "kg", "days", "hours", "meters", "inches", "feet"])}}$`],
    ["units/dollar-sign", String(d), R`The total cost is $\boxed{\$${d}}$.`],
    ["units/text-dollars", String(d), R`$\boxed{${d}\text{ dollars}}$`],
    ["units/wrong-number-with-unit", String(d), R`$\boxed{${d + 1} \text{ ${noun}}}$`],
    ["units/gold-with-unit", R`${d} \text{ ${noun}}`, R`The answer is $\boxed{${d}}$.`],
    ["units/gold-mathrm-unit", R`${d} \mathrm{~cm}`, R`$\boxed{${d}}$`],
    ["units/fraction-with-unit", frac(p, q), R`$\boxed{${frac(p, q)} \text{ m}}$`],
    // Digit groups: thin spaces and plain spaces are not thousands separators to latex2sympy.
    ["digits/thin-space-box", String(big), R`$\boxed{${group3(big, R`\,`)}}$`],
    ["digits/thin-space-units", String(big), R`The price is $\boxed{${group3(big, R`\,`)} \text{ yuan}}$.`],
    ["digits/comma-box", String(big), R`$\boxed{${group3(big, ",")}}$`],
    ["digits/space-box", String(big), R`$\boxed{${group3(big, " ")}}$`],
    ["digits/braced-comma-units", String(big), R`$\boxed{${group3(big, "{,}")} \text{ ${noun}}}$`],
    ["digits/plain-text-commas", String(big), `The answer is ${group3(big, ",")}.`],
    ["digits/tilde-space", String(big), R`$\boxed{${group3(big, "~")}}$`],
    // Matrices.
    ["matrix/pmatrix-fractions", R`\begin{pmatrix} ${frac(1, a)} & ${c} \\ 0 & ${frac(p, q)} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} ${frac(1, a)} & ${c} \\ 0 & ${frac(p, q)} \end{pmatrix}}$`],
    ["matrix/product-in-sentence", R`\begin{pmatrix} ${a} & ${b} \\ ${c} & ${k} \end{pmatrix}`, R`Multiplying, $AB = \begin{pmatrix} ${a} & ${b} \\ ${c} & ${k} \end{pmatrix}$.`],
    ["matrix/entry-two-ways", R`\begin{pmatrix} \frac{1}{3\sqrt[3]{x}^2} & 0 \\ 0 & ${a} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} \frac{1}{3x^{2/3}} & 0 \\ 0 & ${a} \end{pmatrix}}$`],
    ["matrix/decimal-entries", R`\begin{pmatrix} ${frac(1, 2)} & ${a} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} 0.5 & ${a} \end{pmatrix}}$`],
    ["matrix/column-vector", R`\begin{pmatrix} ${a} \\ ${-b} \\ ${c} \end{pmatrix}`, R`The vector is $\begin{pmatrix} ${a} \\ -${b} \\ ${c} \end{pmatrix}$.`],
    ["matrix/vector-as-tuple", R`\begin{pmatrix} ${a} \\ ${b} \end{pmatrix}`, R`$\boxed{(${a}, ${b})}$`],
    ["matrix/wrong-entry", R`\begin{pmatrix} ${a} & ${b} \\ ${c} & ${k} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} ${a} & ${b} \\ ${c} & ${k + 1} \end{pmatrix}}$`],
    ["matrix/array-form", R`\begin{pmatrix} ${a} & ${b} \\ ${c} & ${k} \end{pmatrix}`, R`$\left(\begin{array}{cc} ${a} & ${b} \\ ${c} & ${k} \end{array}\right)$`],
    ["matrix/determinant-value", String(a * k - b * c), R`$\det A = \begin{vmatrix} ${a} & ${b} \\ ${c} & ${k} \end{vmatrix} = ${a * k - b * c}$`],
    // Sets of tuples, as olympiad solutions list them.
    ["tuples/or-word", R`(${b},${a})or(${a},${b})`, R`$\boxed{(${a},${b}),\ (${b},${a})}$`],
    ["tuples/assignments-semicolon", R`p=${a},q=${c};p=${b},q=${c}`, R`$(${a},${c}),(${b},${c})$`],
    ["tuples/semicolon-coordinates", R`(0;${a};0),(${c};-${b};${k})`, R`\boxed{(${c}, -${b}, ${k}), (0, ${a}, 0)}`],
    ["tuples/named-tuple-gold", R`(x,y)=(${a},${b})`, R`$\boxed{(${a}, ${b})}$`],
    ["tuples/several-boxes", R`(${a},${b}),(${b},${a})`, R`The solutions are $\boxed{(${a}, ${b})}$ and $\boxed{(${b}, ${a})}$.`],
    ["tuples/missing-one", R`(${a},${b}),(${b},${a}),(${c},${c})`, R`$\boxed{(${a},${b}),(${b},${a})}$`],
    ["tuples/set-braces", R`(${a},${b}),(${b},${a})`, R`$\boxed{\{(${a},${b}),(${b},${a})\}}$`],
    ["tuples/x-y-equations", R`(${a},${b})`, R`The solution is $x=${a}$, $y=${b}$, so $\boxed{x=${a}, y=${b}}$.`],
    ["tuples/wrong-order-pair", R`(${a},${b})`, R`$\boxed{(${b},${a})}$`],
    // Relations in the gold.
    ["relation/length-gold", R`|AB|=${a}`, R`$\boxed{${a}}$`],
    ["relation/modulus-interval-union", R`${1}\leq|z|\leq \frac{${q}}{${p}}`, R`$z \in \left[-\frac{${q}}{${p}}, -1\right] \cup \left[1, \frac{${q}}{${p}}\right]$`],
    ["relation/two-lengths", R`AB=${a},CD=${b}`, R`$\boxed{${a}, ${b}}$`],
    ["relation/ratio-gold", R`S_{1}:S_{2}=${p}:${q}`, R`$\boxed{${p}:${q}}$`],
    ["relation/fraction-named", R`\frac{NO}{BO}=\frac{1}{\sqrt{${k + 1}}}`, R`$\frac{1}{\sqrt{${k + 1}}}$`],
    ["relation/variable-gold-number-pred", `${v}=${d}`, R`$\boxed{${d}}$`],
    ["relation/inequality-gold-interval-pred", R`${v} \geqslant ${a}`, R`$\boxed{[${a}, +\infty)}$`],
    ["relation/double-inequality-interval", R`${a}<${v}<${b}`, R`$\boxed{(${a}, ${b})}$`],
    ["relation/inequality-same", R`${v}>${a}`, R`$\boxed{${v} > ${a}}$`],
    ["relation/inequality-flipped", R`${v}\leq ${b}`, R`$\boxed{${b} \geq ${v}}$`],
    ["relation/gold-equation-pred-other-var", `${v}=${d}`, R`$\boxed{y=${d}}$`],
    ["relation/chain-last", String(d), R`$S = ${d - a} + ${a} = ${d}$`],
    // Plain text answers, chat tokens, x ∈ intervals.
    ["text/therefore-chat-token", String(d), `Adding the two parts gives ${d - a} + ${a}.\nTherefore, the answer is ${d}.<|im_end|>`],
    ["text/therefore-fraction-token", frac(p, q), R`Therefore, the answer is $${frac(p, q)}$.<|im_end|>`],
    ["text/in-interval", R`[${a},${b}]`, R`Therefore $x \in [${a}, ${b}]$.`],
    ["text/in-interval-open", R`(${a},${b})`, R`So $x \in (${a},${b})$.`],
    ["text/in-union", R`(-\infty,${a})\cup(${b},+\infty)`, R`The solution set is $x \in (-\infty, ${a}) \cup (${b}, +\infty)$.`],
    ["text/inequality-or", R`(-\infty,${a})\cup(${b},+\infty)`, R`$\boxed{x<${a} \text{ or } x>${b}}$`],
    ["text/yes-no", R`\text{${pick(["Yes", "No"])}}`, R`$\boxed{\text{${pick(["Yes", "No"])}}}$`],
    ["text/word-answer", R`\text{${pick(["odd", "even"])}}`, R`The sum is $\boxed{\text{${pick(["odd", "even"])}}}$.`],
    // Binomials and functions.
    ["binom/symbolic", R`\binom{n+1}{2}`, R`$\boxed{\frac{n(n+1)}{2}}$`],
    ["binom/numeric", String((b * (b - 1) * (b - 2)) / 6), R`$\boxed{\binom{${b}}{3}}$`],
    ["binom/dbinom", R`\dbinom{${b}}{2}`, R`$\boxed{${(b * (b - 1)) / 2}}$`],
    ["binom/choose", String((b * (b - 1)) / 2), R`$\boxed{{${b} \choose 2}}$`],
    ["function/f-of-x", R`f(x)=${a}x+${c}`, R`$\boxed{f(x) = ${c} + ${a}x}$`],
    ["function/f-of-x-rhs", R`f(x)=x^{${k}}`, R`$\boxed{x^${k}}$`],
    ["function/log-base", R`\log_{2}${2 * a + 1}`, R`$\boxed{\frac{\ln ${2 * a + 1}}{\ln 2}}$`],
    ["function/log-power", String(k), R`$\boxed{\log_{2} ${2 ** k}}$`],
    ["function/trig-value", R`\frac{\sqrt{3}}{2}`, R`$\boxed{\sin 60^{\circ}}$`],
    ["function/trig-radians", R`\frac{1}{2}`, R`$\boxed{\cos\frac{\pi}{3}}$`],
    ["function/factorial", String(factorial(k + 1)), R`$\boxed{${k + 1}!}$`],
    ["function/max-min", String(b), R`$\boxed{\max(${a}, ${b})}$`],
    ["function/floor", String(a), R`$\boxed{\lfloor ${a}.${c} \rfloor}$`],
    ["function/abs", String(a), R`$\boxed{|-${a}|}$`],
    ["function/exp", R`e^{${k}}`, R`$\boxed{\exp(${k})}$`],
    // Choice letters.
    ["choice/boxed-letter", L, R`The correct option is $\boxed{${L}}$.`],
    ["choice/textbf-letter", L, R`$\boxed{\textbf{(${L})}}$`],
    ["choice/text-paren", R`\text{(${L})}`, R`$\boxed{${L}}$`],
    ["choice/letter-and-value", String(d), R`so the answer is $\boxed{\textbf{(${L})}\ ${d}}$.`],
    ["choice/wrong-letter", L, R`$\boxed{${LETTERS[(LETTERS.indexOf(L) + 1) % 5]}}$`],
    ["choice/chain-letter", String(d), R`$x-y = ${d + a} - ${a}=${d}  \mathrm{(${L})}$.`],
    // Numbers in other forms.
    ["number/percent-vs-decimal", R`${d}\%`, R`$\boxed{${d / 100}}$`],
    ["number/percent-vs-number", R`${d}\%`, R`$\boxed{${d}}$`],
    ["number/percent-word", String(d), R`$\boxed{${d} \text{ percent}}$`],
    ["number/degree-gold", R`${10 * a}^{\circ}`, R`$\boxed{${10 * a}}$`],
    ["number/degree-radians", R`${30 * k}^{\circ}`, R`$\boxed{\frac{${k}\pi}{6}}$`],
    ["number/approx-decimal", String(a + c / 10), R`$x \approx ${(a + c / 10).toFixed(2)}$`],
    ["number/rounded-decimal", (d / 7).toFixed(3), R`$\boxed{${(d / 7).toFixed(2)}}$`],
    ["number/fraction-as-decimal-rounded", frac(p, q * 3), R`$\boxed{${(p / (q * 3)).toFixed(4)}}$`],
    ["number/fraction-6-digits", frac(1, 3 * a), R`$\boxed{${(1 / (3 * a)).toFixed(6)}}$`],
    ["number/scientific", String(d * 1000), R`$\boxed{${d / 10} \times 10^{4}}$`],
    ["number/negative-fraction", frac(-p, q), R`$\boxed{-${(p / q).toString().length < 8 ? p / q : frac(p, q).replace("-", "")}}$`],
    ["number/mixed-number", frac(c * 2 + 1, 2), R`$\boxed{${c}\frac{1}{2}}$`],
    ["number/mixed-number-decimal", frac(c * 4 + 1, 4), R`$\boxed{${c + 0.25}}$`],
    ["number/power", String(2 ** (k + 5)), R`$\boxed{2^{${k + 5}}}$`],
    ["number/pm", R`\pm ${a}`, R`$\boxed{${a}, -${a}}$`],
    ["number/pm-expression", R`${c}\pm\sqrt{${a}}`, R`$\boxed{${c}+\sqrt{${a}}, ${c}-\sqrt{${a}}}$`],
    ["number/infinity", R`+\infty`, R`$\boxed{\infty}$`],
    ["number/leading-dot", `0.${c}`, R`$\boxed{.${c}}$`],
    ["number/trailing-zeros", `${a}.${c}`, R`$\boxed{${a}.${c}00}$`],
    ["number/ratio-vs-fraction", `${p}:${q}`, R`$\boxed{\frac{${p}}{${q}}}$`],
    // Surds, π, powers, logs.
    ["surd/rationalised", R`\frac{\sqrt{${a}}}{${a}}`, R`$\boxed{\frac{1}{\sqrt{${a}}}}$`],
    ["surd/coefficient", R`${k}\sqrt{${a === 4 ? 3 : a}}`, R`$\boxed{\sqrt{${k * k * (a === 4 ? 3 : a)}}}$`],
    ["surd/cube-root", R`\sqrt[3]{${a}}`, R`$\boxed{${a}^{1/3}}$`],
    ["surd/nested", R`1+\sqrt{2}`, R`$\boxed{\sqrt{3+2\sqrt{2}}}$`],
    ["surd/sum-different", R`${a}+\sqrt{${c + 1}}`, R`$\boxed{${a}+\sqrt{${c + 2}}}$`],
    ["pi/multiple", R`${k}\pi`, R`$\boxed{${k} \pi}$`],
    ["pi/fraction-inline", R`\frac{${k}\pi}{${a}}`, R`$\boxed{\frac{${k}}{${a}}\pi}$`],
    ["pi/decimal", R`${k}\pi`, R`$\boxed{${(k * Math.PI).toFixed(2)}}$`],
    // Expressions in a variable.
    ["expr/polynomial-reordered", R`${v}^{2}+${a}${v}+${c}`, R`$\boxed{${c}+${a}${v}+${v}^2}$`],
    ["expr/factored", R`(${v}+${a})(${v}+${c})`, R`$\boxed{${v}^2+${a + c}${v}+${a * c}}$`],
    ["expr/power-n", R`2^{n}-1`, R`$\boxed{2^n - 1}$`],
    ["expr/fraction-n", R`\frac{n(n+1)}{2}`, R`$\boxed{\frac{n^2+n}{2}}$`],
    ["expr/different-coefficient", R`${a}${v}+${c}`, R`$\boxed{${a + 1}${v}+${c}}$`],
    ["expr/equation-rearranged", R`y=${a}x+${c}`, R`$\boxed{${a}x - y + ${c} = 0}$`],
    ["expr/circle-equation", R`x^{2}+y^{2}=${a * a}`, R`$\boxed{y^2 + x^2 = ${a * a}}$`],
    // Several answers.
    ["several/or-solutions-gold", R`${v}=${a} \text{ or } ${v}=${-b}`, R`$\boxed{${-b}, ${a}}$`],
    ["several/and-boxes", R`${a}, ${b}`, R`$\boxed{${a}}$ and $\boxed{${b}}$`],
    ["several/braces-set", R`\{${a}, ${b}, ${c + 20}\}`, R`$\boxed{${c + 20}, ${b}, ${a}}$`],
    ["several/semicolon-list", `${a};${b};${c + 20}`, R`$\boxed{\{${a}, ${b}, ${c + 20}\}}$`],
    ["several/missing-one", R`${a}, ${b}`, R`$\boxed{${a}}$`],
    ["several/empty-set", R`\varnothing`, R`$\boxed{\emptyset}$`],
    // A second wave: answer columns as OpenR1 writes them, against the forms models give.
    ["choice/text-gold-boxed", R`\text{${L}}`, R`$\boxed{${L}}$`],
    ["choice/paren-gold-boxed", `(${L})`, R`Hence the answer is $\boxed{${L}}$.`],
    ["choice/textbf-gold", R`\textbf{(${L})}`, R`$\boxed{\text{${L}}}$`],
    ["choice/boxed-paren-pred", L, R`$\boxed{(${L})}$`],
    ["choice/plain-answer-line", L, `**Answer:** ${L}`],
    ["choice/letter-dot-value", L, R`$\boxed{${L}. ${d}}$`],
    ["trig/general-solution", R`\frac{\pi}{${a}}+k\pi`, R`$\boxed{\frac{\pi}{${a}}+k\pi}$`],
    ["trig/general-solution-other-letter", R`\frac{\pi}{${a}}+k\pi`, R`$\boxed{\frac{\pi}{${a}}+n\pi}$`],
    ["trig/solution-with-k-in-z", R`x=\frac{\pi}{${a}}+k\pi, k\in\mathbb{Z}`, R`$\boxed{x = \frac{\pi}{${a}} + k\pi}$`],
    ["sequence/general-term", R`a_{n}=${a}n-${c}`, R`$\boxed{${a}n-${c}}$`],
    ["sequence/general-term-both", R`a_{n}=2^{n}+${c}`, R`$\boxed{a_n = 2^n + ${c}}$`],
    ["sequence/sum-formula", R`S_{n}=\frac{n(n+${a})}{2}`, R`$\boxed{\frac{n^{2}+${a}n}{2}}$`],
    ["conic/ellipse-cleared", R`\frac{x^{2}}{${a * a}}+\frac{y^{2}}{${c * c}}=1`, R`$\boxed{${c * c}x^2 + ${a * a}y^2 = ${a * a * c * c}}$`],
    ["conic/line-slope", R`y=${a}x-${c}`, R`The line is $\boxed{y = ${a}x - ${c}}$.`],
    ["range/geq-interval", R`n \geq ${a}`, R`$\boxed{[${a}, \infty)}$`],
    ["range/positive", R`a>0`, R`$\boxed{(0,+\infty)}$`],
    ["range/or-inequalities", R`m<-${a} \text{ or } m>${c}`, R`$\boxed{(-\infty,-${a})\cup(${c},+\infty)}$`],
    ["range/interval-same-text", R`\left[${-a}, ${c}\right]`, R`The range is $\boxed{[${-a},${c}]}$.`],
    ["range/infty-unsigned", R`(${a},+\infty)`, R`$\boxed{(${a}, \infty)}$`],
    ["log/natural-vs-common", R`\ln ${a}`, R`$\boxed{\log ${a}}$`],
    ["log/base-value", String(k), R`$\boxed{\log_{${a}} ${a ** k}}$`],
    ["log/ln-product", R`${k}\ln 2`, R`$\boxed{\ln ${2 ** k}}$`],
    ["decimal/fraction-gold", R`\frac{${2 * c + 1}}{2}`, R`$\boxed{${c}.5}$`],
    ["decimal/trailing-zero-gold", `${c}.5`, R`$\boxed{${c}.50}$`],
    ["decimal/with-unit", `${c}.5`, R`$\boxed{${c}.5 \text{ cm}}$`],
    ["decimal/pi-approx", "3.14", R`$\boxed{\pi}$`],
    ["decimal/percent-decimal", R`${c}.5\%`, R`$\boxed{${(c + 0.5) / 100}}$`],
    ["exp/e-squared", R`e^{${k}}`, R`$\boxed{\mathrm{e}^${k}}$`],
    ["exp/power-of-ten", R`10^{${k + 3}}`, R`$\boxed{${10 ** (k + 3)}}$`],
    ["exp/big-power", R`2^{${60 + k}}`, R`$\boxed{${(2n ** BigInt(60 + k)).toString()}}$`],
    ["exp/negative-exponent", R`\frac{1}{2^{n}}`, R`$\boxed{2^{-n}}$`],
    ["exp/power-reordered", R`${a}^{n+1}`, R`$\boxed{${a}\cdot ${a}^{n}}$`],
    ["fraction/negative-numerator", R`-\frac{${p}}{${q}}`, R`$\boxed{\frac{-${p}}{${q}}}$`],
    ["fraction/nested", R`\frac{${a}}{${a + 1}}`, R`$\boxed{\frac{1}{1+\frac{1}{${a}}}}$`],
    ["fraction/slash-surd", R`\frac{\sqrt{2}}{2}`, R`$\boxed{\sqrt{2}/2}$`],
    ["fraction/one-over-root", R`\frac{\sqrt{2}}{2}`, R`$\boxed{\frac{1}{\sqrt{2}}}$`],
    ["surd/conjugate", R`2-\sqrt{3}`, R`$\boxed{\frac{1}{2+\sqrt{3}}}$`],
    ["surd/coefficient-split", R`\frac{${a}\sqrt{3}}{${c}}`, R`$\boxed{\frac{${a}}{${c}}\sqrt{3}}$`],
    ["surd/root-of-square", String(a), R`$\boxed{\sqrt{${a * a}}}$`],
    ["symbolic/sum-commuted", R`\frac{a+b}{${c}}`, R`$\boxed{\frac{b+a}{${c}}}$`],
    ["symbolic/abs-root", R`|x|`, R`$\boxed{\sqrt{x^2}}$`],
    ["symbolic/product-expanded", R`(a+b)^{2}`, R`$\boxed{a^2+2ab+b^2}$`],
    ["symbolic/wrong-sign", R`(a-b)^{2}`, R`$\boxed{a^2+2ab+b^2}$`],
    ["pair/gold-tuple-pred-equations", `(${a}, ${b})`, R`$\boxed{x=${a}, y=${b}}$`],
    ["pair/indexed-roots", R`x_{1}=${a}, x_{2}=${b}`, R`$\boxed{${a}, ${b}}$`],
    ["pair/and-text-gold", R`${a} \text{ and } ${b}`, R`$\boxed{${a}, ${b}}$`],
    ["pair/or-text-gold", R`${a} \text{ or } ${b}`, R`$\boxed{${b}}$`],
    ["set/builder", R`\{x \mid x>${a}\}`, R`$\boxed{(${a}, +\infty)}$`],
    ["set/left-right-braces", R`\{${a}, ${b}\}`, R`$\boxed{\left\{${b}, ${a}\right\}}$`],
    ["set/integers-named", R`k \in \mathbb{Z}`, R`$\boxed{k\in\mathbb{Z}}$`],
    ["unicode/minus-sign", `-${d}`, `The answer is $\boxed{−${d}}$.`],
    ["unicode/pi-symbol", R`${k}\pi`, `$\boxed{${k}π}$`],
    ["unicode/times", String(a * c), `$\boxed{${a}×${c}}$`],
    ["money/dollar-thousands", String(1000 * a + d), R`$\boxed{\$${a}{,}${String(d).padStart(3, "0")}}$`],
    ["money/dollar-cents", `${d}.${c}0`, R`The cost is $\$${d}.${c}0$.`],
    ["integer/fraction-form", String(d), R`$\boxed{\frac{${2 * d}}{2}}$`],
    ["integer/decimal-zeros", String(d), R`$\boxed{${d}.00}$`],
    ["integer/near-float", String(d), R`$\boxed{${d}.0000001}$`],
    ["response/multiple-boxes-final", String(d), R`First I guessed $\boxed{${d + 3}}$, but rechecking the sum gives ${d}.

**Final Answer**
\[
\boxed{${d}}
\]`],
    ["response/think-then-answer", String(d), R`<think>
Let me compute ${d - a} + ${a}. That is ${d}.
</think>
The result is $${d - a} + ${a} = ${d}$, so the answer is $\boxed{${d}}$.`],
    ["response/no-box-last-number", String(d), `We add ${d - a} and ${a} to get ${d}.`],
    ["response/boxed-equation", String(d), R`Therefore $\boxed{${v} = ${d}}$.`],
    ["response/inline-paren-boxed", String(d), R`The answer is \(\boxed{${d}}\).`],
    ["response/answer-with-unit-line", String(d), `Answer: ${d} cm`],
    ["response/final-answer-phrase", frac(p, q), R`The final answer is $${frac(p, q)}$. I hope it is correct.`],
    // A third wave: textbook solutions and model endings.
    ["textbook/therefore-symbol", String(d), R`From (1) and (2), $\therefore x=${d}$.`],
    ["textbook/because-therefore", String(d), R`$\because ${d - a}+${a}=${d}$, $\therefore$ the answer is ${d}.`],
    ["textbook/cjk-answer", String(d), `故答案为：$${d}$.`],
    ["textbook/solution-tag", String(d), R`【Solution】 We have $S=${d - c}+${c}=${d}$.`],
    ["textbook/dots", String(d), R`$1+2+\cdots+n=${d}$`],
    ["textbook/ldots-list", R`${a}, ${b}, ${c + 20}`, R`$\boxed{${a}, ${b}, ${c + 20}, \ldots}$`],
    ["textbook/infinity-unicode", R`(${a},+\infty)`, `$\boxed{(${a}, +∞)}$`],
    ["textbook/squared-unicode", String(a * a), `$\boxed{${a}²}$`],
    ["textbook/middle-dot", String(a * c), `$\boxed{${a}·${c}}$`],
    ["model/box-then-text", String(d), R`\[
\boxed{${d}}
\]
This is the number of ways.`],
    ["model/boxed-chain", String(d), R`$\boxed{S = ${d - a} + ${a} = ${d}}$`],
    ["model/box-then-unit", String(d), R`The length is $\boxed{${d}}\text{ cm}$.`],
    ["model/assignments-box", R`a=${a}, b=${b}`, R`$\boxed{a=${a},\ b=${b}}$`],
    ["model/assignments-box-swapped", R`a=${a}, b=${b}`, R`$\boxed{b=${b}, a=${a}}$`],
    ["model/and-in-box", R`${a}, ${b}`, R`$\boxed{${a} \text{ and } ${b}}$`],
    ["model/negative-parenthesised", `-${d}`, R`$\boxed{(-${d})}$`],
    ["model/negative-dfrac", R`-\frac{${p}}{${q}}`, R`$\boxed{-\dfrac{${p}}{${q}}}$`],
    ["model/tfrac", R`\frac{${p}}{${q}}`, R`$\boxed{\tfrac{${p}}{${q}}}$`],
    ["model/text-no", R`\text{No}`, R`$\boxed{\text{No}}$`],
    ["model/word-no-vs-yes", R`\text{No}`, R`$\boxed{\text{Yes}}$`],
    ["model/plain-sentence-unit", String(d), `The answer is ${d} km.`],
    ["model/bold-answer", String(d), `**Answer:** $${d}$`],
    ["angle/degrees-vs-radians-gold", R`\frac{\pi}{6}`, R`$\boxed{30^\circ}$`],
    ["angle/degrees-gold-number", String(10 * c), R`$\boxed{${10 * c}^\circ}$`],
    ["angle/degree-word", String(10 * c), R`$\boxed{${10 * c} \text{ degrees}}$`],
    ["percent/box-vs-number-gold", String(10 * c), R`$\boxed{${10 * c}\%}$`],
    ["percent/gold-percent-number-pred", R`${10 * c}\%`, R`$\boxed{${10 * c}}$`],
    ["percent/gold-percent-fraction", R`${25 * (c % 4)}\%`, R`$\boxed{\frac{${c % 4}}{4}}$`],
    ["matrix/negative-entries", R`\begin{pmatrix} -${a} & ${b} \\ ${c} & -${k} \end{pmatrix}`, R`$\begin{pmatrix}
-${a} & ${b} \\
${c} & -${k}
\end{pmatrix}$`],
    ["matrix/identity-product", R`\begin{pmatrix} ${a} & 0 \\ 0 & ${c} \end{pmatrix}`, R`$\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}\begin{pmatrix} ${a} & 0 \\ 0 & ${c} \end{pmatrix}$`],
    ["interval/left-right", R`[${a}, ${b})`, R`$\boxed{\left[${a}, ${b}\right)}$`],
    ["interval/closed-vs-open", R`[${a}, ${b}]`, R`$\boxed{(${a}, ${b})}$`],
    ["interval/infty-plus", R`(-\infty, ${a}]`, R`$\boxed{(-\infty, ${a}]}$`],
    ["time/clock", `${a}:${10 + c}`, R`$\boxed{${a}:${10 + c}}$`],
    ["complex/reordered", R`${a}+${c}i`, R`$\boxed{${c}i+${a}}$`],
    ["complex/different", R`${a}+${c}i`, R`$\boxed{${a}-${c}i}$`],
    ["complex/modulus", R`\sqrt{${a * a + c * c}}`, R`$|z| = \boxed{\sqrt{${a * a + c * c}}}$`],
    ["vector/angle-brackets", R`(${a}, ${b})`, R`$\boxed{\langle ${a}, ${b} \rangle}$`],
    ["root/cube-as-power", R`\sqrt[3]{${a}}`, R`$\boxed{${a}^{\frac{1}{3}}}$`],
    ["root/fourth", String(a), R`$\boxed{\sqrt[4]{${a ** 4}}}$`],
    ["base/binary-subscript", String(a + 8), R`$\boxed{${(a + 8).toString(2)}_2}$`],
    ["infinity/plus", R`+\infty`, R`$\boxed{+\infty}$`],
    ["word/day-name", R`\text{${pick(["Monday", "Friday", "Sunday"])}}`, R`$\boxed{\text{${pick(["Monday", "Friday", "Sunday"])}}}$`],
    ["poly/fraction-coefficient", R`\frac{1}{2}x^{2}+${a}x`, R`$\boxed{\frac{x^2}{2}+${a}x}$`],
    ["poly/different-constant", R`x^{2}-${a}`, R`$\boxed{x^2+${a}}$`],
    ["count/plain-integer-sentence", String(big), `There are ${big} such numbers.`],
    // A fourth wave: matrices as linear-algebra answers, units and digit groups in running text, relations as models
    // write them.
    ["matrix/product-equals-result", R`\begin{pmatrix} ${a + 2 * b} \\ ${3 * a + 4 * b} \end{pmatrix}`, R`$\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}\begin{pmatrix} ${a} \\ ${b} \end{pmatrix} = \begin{pmatrix} ${a + 2 * b} \\ ${3 * a + 4 * b} \end{pmatrix}$`],
    ["matrix/scalar-times", R`\begin{pmatrix} ${frac(a, 2)} & ${frac(b, 2)} \\ ${frac(c, 2)} & ${frac(k, 2)} \end{pmatrix}`, R`$A^{-1} = \frac{1}{2}\begin{pmatrix} ${a} & ${b} \\ ${c} & ${k} \end{pmatrix}$`],
    ["matrix/left-bracket-matrix", R`\begin{bmatrix} ${a} & ${b} \\ ${c} & ${k} \end{bmatrix}`, R`$\boxed{\left[\begin{matrix} ${a} & ${b} \\ ${c} & ${k} \end{matrix}\right]}$`],
    ["matrix/variable-entries", R`\begin{pmatrix} x & ${a}x \\ 0 & x^{2} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} x & ${a} x \\ 0 & x^2 \end{pmatrix}}$`],
    ["matrix/surd-entries", R`\begin{pmatrix} \frac{\sqrt{2}}{2} & -\frac{\sqrt{2}}{2} \\ \frac{\sqrt{2}}{2} & \frac{\sqrt{2}}{2} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} \frac{1}{\sqrt{2}} & -\frac{1}{\sqrt{2}} \\ \frac{1}{\sqrt{2}} & \frac{1}{\sqrt{2}} \end{pmatrix}}$`],
    ["matrix/shape-mismatch", R`\begin{pmatrix} ${a} & ${b} \end{pmatrix}`, R`$\boxed{\begin{pmatrix} ${a} \\ ${b} \end{pmatrix}}$`],
    ["units/speed-mathrm-fraction", String(d), R`$\boxed{${d} \mathrm{~km}/\mathrm{h}}$`],
    ["units/text-kmh", String(d), R`$\boxed{${d}\text{ km/h}}$`],
    ["units/cubic-mathrm", String(d), R`$\boxed{${d}\,\mathrm{cm}^3}$`],
    ["units/sq-units-text", String(d), R`$\boxed{${d} \text{ sq. units}}$`],
    ["units/unit-then-period-text", String(d), R`The perimeter is $${d}$ cm.`],
    ["units/plain-unit-word", String(d), R`$\boxed{${d} \ \text{yuan}}$`],
    ["digits/million-thin", String(1_000_000 * a), R`$\boxed{${group3(1_000_000 * a, R`\,`)}}$`],
    ["digits/million-braced", String(1_000_000 * a + d), R`$\boxed{${group3(1_000_000 * a + d, "{,}")}}$`],
    ["digits/plain-text-spaces", String(big), `The total is ${group3(big, " ")}.`],
    ["digits/comma-in-set", R`${a}, ${1000 + d}`, R`$\boxed{${a}, 1,${String(d).padStart(3, "0")}}$`],
    ["relation/indexed-roots-set", R`x_{1}=${a}, x_{2}=${b}`, R`$\boxed{\{${b}, ${a}\}}$`],
    ["relation/indexed-value", R`a_{1}=${a}`, R`$\boxed{${a}}$`],
    ["relation/right-angle", String(90), R`$\angle ABC = \boxed{90^\circ}$`],
    ["relation/leqslant-range", R`-${a} \leqslant m \leqslant ${c}`, R`$\boxed{[-${a}, ${c}]}$`],
    ["relation/or-quad", R`x=${a} \text{ or } x=-${c}`, R`$x = ${a} \quad \text{or} \quad x = -${c}$`],
    ["relation/or-union-text", R`(-\infty,${a})\cup(${b},+\infty)`, R`$\boxed{(-\infty,${a}) \text{ or } (${b},+\infty)}$`],
    ["relation/half-nits", R`\frac{1}{2}`, R`$\boxed{0.5}$`],
    ["relation/neq", R`x \neq ${a}`, R`$\boxed{x \ne ${a}}$`],
    ["relation/max-value", String(d), R`The maximum value is $f(${a}) = ${d}$.`],
    ["relation/min-value-text", String(d), R`$\min f(x)=${d}$`],
    // A fifth wave: how latex2sympy reads letters and operators.
    ["letters/case", R`${a}A`, R`$\boxed{${a}a}$`],
    ["letters/case-area", R`\frac{\sqrt{3}}{4}a^{2}`, R`$\boxed{\frac{\sqrt{3}}{4}A^2}$`],
    ["letters/i-division", "1+i", R`$\boxed{\frac{2}{1-i}}$`],
    ["letters/i-squared", "-1", R`$\boxed{i^2}$`],
    ["letters/capital-i", String(-1), R`$\boxed{I^2}$`],
    ["letters/capital-e", "e", R`$\boxed{E}$`],
    ["letters/greek-unicode", R`${a}\alpha`, `$\boxed{${a}α}$`],
    ["letters/overline", R`\overline{AB}`, R`$\boxed{\overline{AB}}$`],
    ["ops/log-base-ten", String(k), R`$\boxed{\log ${10 ** k}}$`],
    ["ops/ln-power", String(k), R`$\boxed{\ln e^{${k}}}$`],
    ["ops/exp-function", R`e^{${k}}`, R`$\boxed{\exp ${k}}$`],
    ["ops/cdot-product", R`${a}xy`, R`$\boxed{${a}x \cdot y}$`],
    ["ops/div-sign", frac(p, q), R`$\boxed{${p} \div ${q}}$`],
    ["ops/mod-token", String(d % 7), R`$\boxed{${d} \mod 7}$`],
    ["ops/bmod", String(d % 7), R`$${d} \equiv ${d % 7} \pmod{7}$`],
    ["ops/abs-left-right", String(a), R`$\boxed{\left|-${a}\right|}$`],
    ["ops/floor-brackets", String(a), R`$\boxed{\left\lfloor ${a}.${c} \right\rfloor}$`],
    ["ops/sin-degrees", R`\frac{1}{2}`, R`$\boxed{\sin 30^{\circ}}$`],
    ["ops/percent-decimal-gold", R`${c}.5\%`, R`$\boxed{\frac{${2 * c + 1}}{200}}$`],
    ["ops/factorial-product", String(factorial(k + 2)), R`$\boxed{${k + 2}!}$`],
    ["ops/sum-notation", String((a * (a + 1)) / 2), R`$\boxed{\sum_{i=1}^{${a}} i}$`],
    ["ops/prime-derivative", R`f(x)=${a}x`, R`$f'(x)=${a}x$`],
    // A sixth wave, held out as a whole (HELD_OUT_WAVE): judged before any change made for it.
    ["unseen/dfrac-spaces", frac(p, q), R`$\boxed{\dfrac {${p}} {${q}}}$`],
    ["unseen/slash-in-text", frac(p, q), `So the probability is ${p}/${q}.`],
    ["unseen/decimal-comma", `${c}.5`, R`$\boxed{${c},5}$`],
    ["unseen/approx-in-box", `${a}.${c}5`, R`$\boxed{x \approx ${a}.${c}5}$`],
    ["unseen/approx-alone", `${a}.${c}5`, R`$\boxed{\approx ${a}.${c}5}$`],
    ["unseen/percent-thin-space", R`${d}\%`, R`$\boxed{${d}\,\%}$`],
    ["unseen/ordinal", String(d), R`$\boxed{${d}^{\text{th}}}$`],
    ["unseen/money-comma", String(1000 + 10 * d), R`$\boxed{\$ 1,${String(10 * d).padStart(3, "0")}}$`],
    ["unseen/negative-denominator", R`-\frac{1}{${a}}`, R`$\boxed{\frac{1}{-${a}}}$`],
    ["unseen/malformed-sqrt-sum", R`1+\sqrt{${a === 4 ? 5 : a}}`, R`$\boxed{\sqrt${a === 4 ? 5 : a}+1}$`],
    ["unseen/factored-surd", R`\frac{\sqrt{5}-1}{2}`, R`$\boxed{\frac{1}{2}\left(\sqrt{5}-1\right)}$`],
    ["unseen/set-relation-list", R`${a}, ${b}, ${c + 20}`, R`$\boxed{x = ${a}, ${b}, ${c + 20}}$`],
    ["unseen/set-builder-colon", R`(${a}, +\infty)`, R`$\boxed{\{x \in \mathbb{R} : x > ${a}\}}$`],
    ["unseen/reversed-double-inequality", `(${a}, ${b})`, R`$\boxed{${b} > x > ${a}}$`],
    ["unseen/bold-number", String(d), `Adding up, the total is **${d}**.`],
    ["unseen/boxed-then-unit-squared", String(d), R`The area is $\boxed{${d}}$ cm².`],
    ["unseen/mixed-vs-fraction", frac(2 * c + 1, 2), R`$\boxed{${c}\frac{1}{2}}$`],
    ["unseen/mixed-vs-decimal", `${c}.5`, R`$\boxed{${c}\tfrac12}$`],
    ["unseen/boxed-or-assignments", `${a}, ${b}`, R`$\boxed{n=${a} \text{ or } n=${b}}$`],
    ["unseen/big-integer", String(123456789012345n + BigInt(d)), R`$\boxed{${String(123456789012345n + BigInt(d))}}$`],
    ["unseen/big-power-vs-digits", (2n ** 100n).toString(), R`$\boxed{2^{100}}$`],
    ["unseen/percent-probability", R`\frac{1}{6}`, R`$\boxed{16.67\%}$`],
    ["unseen/labelled-point", `(${a}, ${b})`, R`The point is $A(${a}, ${b})$.`],
    ["unseen/vector-named", `(${a}, ${b})`, R`$\boxed{\vec{v} = (${a}, ${b})}$`],
    ["unseen/half-coefficient", R`y=\frac{1}{2}x^{2}`, R`$\boxed{y = 0.5x^2}$`],
    ["unseen/indexed-roots-pred", `${a}, ${b}`, R`$\boxed{x_1 = ${a}, x_2 = ${b}}$`],
    ["unseen/all-reals", R`\mathbb{R}`, R`$\boxed{(-\infty, +\infty)}$`],
    ["unseen/no-solution", R`\text{no solution}`, R`$\boxed{\varnothing}$`],
    ["unseen/two-part-answer", `${a}, ${b}`, R`The maximum is $\boxed{${b}}$ and the minimum is $\boxed{${a}}$.`],
    ["unseen/answer-word-then-formula", frac(p, q), R`Answer: the ratio equals $\frac{${p}}{${q}}$, as computed.`],
    // A seventh wave, held out as a whole like the sixth.
    ["unseen2/pm-assignment", R`\pm ${a}`, R`$\boxed{x = \pm ${a}}$`],
    ["unseen2/sequence-list", `1, ${a}, ${a * a}`, R`$\boxed{1, ${a}, ${a * a}}$`],
    ["unseen2/arithmetic-in-box", String(a + c), R`$\boxed{${a} + ${c}}$`],
    ["unseen2/and-word-gold", `${a} and ${b}`, R`$\boxed{${a}, ${b}}$`],
    ["unseen2/nested-box", String(d), R`$\boxed{\boxed{${d}}}$`],
    ["unseen2/fbox", String(d), R`The answer is $\fbox{${d}}$.`],
    ["unseen2/box-with-remark", String(d), R`$\boxed{${d} \text{ (this is the answer)}}$`],
    ["unseen2/displaystyle", frac(p, q), R`$\displaystyle \boxed{\frac{${p}}{${q}}}$`],
    ["unseen2/negative-power-ten", "0.001", R`$\boxed{10^{-3}}$`],
    ["unseen2/e-notation", String(1500 * a), R`$\boxed{${1.5 * a}E3}$`],
    ["unseen2/per-hour", String(d), R`$\boxed{${d} \text{ per hour}}$`],
    ["unseen2/sqrt-three-decimals", R`\sqrt{2}`, R`$\boxed{1.414}$`],
    ["unseen2/pi-six-decimals", R`\pi`, R`$\boxed{3.141593}$`],
    ["unseen2/negative-fraction-interval", R`[-\frac{1}{${a}}, 0)`, R`$\boxed{\left[-\frac{1}{${a}}, 0\right)}$`],
    ["unseen2/geq-fraction", R`x \geq -\frac{1}{${a}}`, R`$\boxed{[-\frac{1}{${a}}, +\infty)}$`],
    ["unseen2/parameter-form", `2k+1`, R`$\boxed{n = 2k+1}$`],
    ["unseen2/arctan-power", R`\frac{\pi}{4}`, R`$\boxed{\tan^{-1} 1}$`],
    ["unseen2/arcsin-half", R`\frac{\pi}{6}`, R`$\boxed{\arcsin \frac{1}{2}}$`],
    ["unseen2/double-angle", R`\cos^{2}\theta`, R`$\boxed{\frac{1+\cos 2\theta}{2}}$`],
    ["unseen2/left-dot", String(d), R`$\left. ${d} \right.$`],
    ["unseen2/period-after-box", String(d), R`The answer is \boxed{${d}}.`],
    ["unseen2/dollar-box", String(d), R`$\$\boxed{${d}}$`],
    ["unseen2/two-boxes-far", String(d), R`We first found $\boxed{${d - 1}}$ by a miscount. After recounting all the cases carefully one by one, the correct total is $\boxed{${d}}$.`],
    ["unseen2/frac-in-text-answer", frac(p, q), R`Answer: ${p}/${q}`],
    ["unseen2/decimal-answer-colon", `${a}.${c}`, `Answer: ${a}.${c}`],
    ["unseen2/gold-approx", R`\approx ${a}.${c}`, R`$\boxed{${a}.${c}}$`],
    ["unseen2/gold-text-number", R`\text{${d}}`, R`$\boxed{${d}}$`],
    ["unseen2/gold-boxed", R`\boxed{${d}}`, `The answer is ${d}.`],
    ["unseen2/cube-root-of-cube", String(a), R`$\boxed{\sqrt[3]{${a ** 3}}}$`],
    ["unseen2/log-fraction", R`\frac{1}{2}`, R`$\boxed{\log_{4} 2}$`],
    // An eighth wave, held out as a whole: symbolic identities, answer columns without dollars, long endings.
    ["unseen3/bare-sqrt-gold", R`\sqrt{${a === 4 ? 3 : a}}`, R`$\boxed{\sqrt{${a === 4 ? 3 : a}}}$`],
    ["unseen3/bare-dfrac-surd-gold", R`\dfrac{\sqrt{2}}{2}`, R`$\boxed{\frac{\sqrt{2}}{2}}$`],
    ["unseen3/bare-polynomial-gold", `x^2+${a}`, R`$\boxed{x^{2}+${a}}$`],
    ["unseen3/answer-line-then-box", String(d), R`Answer: we need the total.
Adding gives $${d - a} + ${a}$, hence $\boxed{${d}}$.`],
    ["unseen3/display-no-box", String(d), R`$$
S = ${d - a} + ${a}
$$
$$
S = ${d}
$$`],
    ["unseen3/box-then-where", String(d), R`\[ \boxed{${d}} \]
where we used the sum of the first terms.`],
    ["unseen3/malformed-three-halves", R`\frac{3}{2}`, R`$\boxed{\frac32}$`],
    ["unseen3/sqrt2-over-2", R`\frac{\sqrt{2}}{2}`, R`$\boxed{\sqrt2/2}$`],
    ["unseen3/rationalised-third", R`\frac{1}{\sqrt{3}}`, R`$\boxed{\frac{\sqrt{3}}{3}}$`],
    ["unseen3/hundred-percent", "1", R`$\boxed{100\%}$`],
    ["unseen3/and-in-list", `1, 2, ${a + 2}`, R`$\boxed{1, 2, \text{and } ${a + 2}}$`],
    ["unseen3/quad-gold", R`x=${a} \quad y=${b}`, R`$\boxed{x=${a}, y=${b}}$`],
    ["unseen3/year", String(2000 + d), `The year is $\boxed{${2000 + d}}$.`],
    ["unseen3/negative-scientific", R`-${a}.${c} \times 10^{-4}`, R`$\boxed{-0.000${a}${c}}$`],
    ["unseen3/quadratic-formula", R`\frac{-b \pm \sqrt{b^{2}-4ac}}{2a}`, R`$\boxed{\dfrac{-b \pm \sqrt{b^2-4ac}}{2a}}$`],
    ["unseen3/golden-roots", R`\frac{1 \pm \sqrt{5}}{2}`, R`$x = \dfrac{1 \pm \sqrt{5}}{2}$`],
    ["unseen3/half-power", R`\sqrt{a}`, R`$\boxed{a^{\frac{1}{2}}}$`],
    ["unseen3/log-braces", String(k), R`$\boxed{\log_{2}{${2 ** k}}}$`],
    ["unseen3/product-of-roots", R`\sqrt{xy}`, R`$\boxed{\sqrt{x}\sqrt{y}}$`],
    ["unseen3/x-over-x", "1", R`$\boxed{\frac{x}{x}}$`],
    ["unseen3/square-sign", R`(x-1)^{2}`, R`$\boxed{(1-x)^2}$`],
    ["unseen3/root-of-square-symbol", "x", R`$\boxed{\sqrt{x^2}}$`],
    ["unseen3/log-of-exp", "x", R`$\boxed{\ln(e^x)}$`],
    ["unseen3/abs-vs-x", "x", R`$\boxed{|x|}$`],
    ["unseen3/exp-of-log", "2", R`$\boxed{e^{\ln 2}}$`],
    ["unseen3/tan-quotient", R`\tan x`, R`$\boxed{\frac{\sin x}{\cos x}}$`],
    ["unseen3/power-split", R`2^{x+1}`, R`$\boxed{2\cdot 2^x}$`],
    ["unseen3/cube-difference", R`(a-b)(a^{2}+ab+b^{2})`, R`$\boxed{a^3-b^3}$`],
    ["unseen3/trig-pythagoras-expr", R`1-\sin^{2}x`, R`$\boxed{\cos^2 x}$`],
    ["unseen3/nested-radical", R`\sqrt{2}+1`, R`$\boxed{\sqrt{3+\sqrt{8}}}$`],
    // A ninth wave, held out as a whole: systems, calculus, lists and odd endings.
    ["unseen4/system-cases", `x=${a}, y=${b}`, R`$\left\{\begin{array}{l} x=${a} \\ y=${b} \end{array}\right.$`],
    ["unseen4/cases-env", `(${a}, ${b})`, R`$\begin{cases} x = ${a} \\ y = ${b} \end{cases}$`],
    ["unseen4/plain-and-equations", `x=${a}, y=${b}`, `So x=${a} and y=${b}.`],
    ["unseen4/or-environments", `${a}, ${c + 20}`, R`Thus $x = ${a}$ or $x = ${c + 20}$.`],
    ["unseen4/boxed-text-sentence", R`\text{all real numbers}`, R`$\boxed{\text{All real numbers}}$`],
    ["unseen4/three-part-ratio", `${a}:${b}:${c}`, R`$\boxed{${a} : ${b} : ${c}}$`],
    ["unseen4/point-3d", `(${a}, ${-b}, ${c})`, R`$\boxed{(${a}, -${b}, ${c})}$`],
    ["unseen4/unicode-half", R`\frac{1}{2}`, `$\boxed{½}$`],
    ["unseen4/frac-period-in-box", R`\frac{${p}}{${q}}`, R`$\boxed{\frac{${p}}{${q}}.}$`],
    ["unseen4/paren-inline-answer", R`\frac{${p}}{${q}}`, R`The answer is \(\frac{${p}}{${q}}\).`],
    ["unseen4/bold-box", String(d), R`**$\boxed{${d}}$**`],
    ["unseen4/parts-boxes", `${a}, ${b}`, R`(a) $\boxed{${a}}$ (b) $\boxed{${b}}$`],
    ["unseen4/big-factorial", String(factorial(10)), R`$\boxed{10!}$`],
    ["unseen4/approx-after-surd", R`\sqrt{${a === 4 ? 3 : a}}`, R`$\boxed{\sqrt{${a === 4 ? 3 : a}} \approx ${Math.sqrt(a === 4 ? 3 : a).toFixed(3)}}$`],
    ["unseen4/limit", String(a), R`$\boxed{\lim_{n \to \infty} \frac{${a}n+1}{n}}$`],
    ["unseen4/definite-integral", frac(1, k + 1), R`$\boxed{\int_0^1 x^{${k}}\,dx}$`],
    ["unseen4/sum-closed-form", R`\frac{n(n+1)}{2}`, R`$\boxed{\sum_{k=1}^{n} k}$`],
    ["unseen4/derivative", `${k}x^{${k - 1}}`, R`$\boxed{\frac{d}{dx}x^{${k}}}$`],
    ["unseen4/arccos-inverse", R`\frac{\pi}{3}`, R`$\boxed{\cos^{-1}\frac{1}{2}}$`],
    ["unseen4/right-angle-vs-half-pi", R`\frac{\pi}{2}`, R`$\boxed{90^\circ}$`],
    ["unseen4/named-pair-gold", `(a, b) = (${a}, ${b})`, R`$\boxed{a = ${a}, b = ${b}}$`],
    ["unseen4/pair-vs-equations-gold", `x=${a},y=${b}`, R`$\boxed{(${a},${b})}$`],
    ["unseen4/in-set-pred", `${a}, ${b}`, R`$\boxed{x \in \{${a}, ${b}\}}$`],
    ["unseen4/singleton-set", String(a), R`$\boxed{\{${a}\}}$`],
    ["unseen4/positive-integers", R`\mathbb{Z}^{+}`, R`$\boxed{\mathbb{Z}^+}$`],
    ["unseen4/dfrac-pi-degrees", R`\dfrac{\pi}{${k + 1}}`, R`$\boxed{\frac{180^\circ}{${k + 1}}}$`],
    ["unseen4/percent-word-gold", `${d} percent`, R`$\boxed{${d}\%}$`],
    ["unseen4/fraction-word", R`\frac{1}{2}`, `The answer is one half, i.e. $\boxed{\frac{1}{2}}$.`],
    ["unseen4/negative-interval-text", `[-${b}, -${a}]`, R`$\boxed{-${b} \le x \le -${a}}$`],
    ["unseen4/tuple-in-text-sentence", `(${a}, ${b})`, `The ordered pair is (${a}, ${b}).`],
    // A tenth wave, held out as a whole and left unchanged for: the estimate after all the changes above.
    ["unseen5/money-cents-box", `${d}.${c}5`, R`$\boxed{\$${d}.${c}5}$`],
    ["unseen5/speed-fraction-unit", frac(p, q), R`$\boxed{\frac{${p}}{${q}} \text{ m/s}}$`],
    ["unseen5/area-pi", R`${k * k}\pi`, R`The area is $\boxed{${k * k}\pi \text{ cm}^2}$.`],
    ["unseen5/volume-frac-pi", R`\frac{${4 * k}\pi}{3}`, R`$V = \boxed{\dfrac{${4 * k}}{3}\pi}$`],
    ["unseen5/probability-percent-gold", R`${d}\%`, R`$\boxed{0.${String(d).padStart(2, "0")}}$`],
    ["unseen5/minutes-and-seconds", String(60 * a + d % 60), R`$\boxed{${60 * a + (d % 60)} \text{ seconds}}$`],
    ["unseen5/gold-with-dollar-sign", R`\$${d}`, R`$\boxed{${d}}$`],
    ["unseen5/triple-boxes", `${a}, ${b}, ${c + 20}`, R`$\boxed{${a}}, \boxed{${b}}, \boxed{${c + 20}}$`],
    ["unseen5/interval-union-three", R`(-\infty,${a})\cup(${b},${b + 3})\cup(${b + 5},+\infty)`, R`$\boxed{(-\infty, ${a}) \cup (${b}, ${b + 3}) \cup (${b + 5}, \infty)}$`],
    ["unseen5/half-open-union", R`[${a},${b})\cup(${b},${b + 4}]`, R`$\boxed{[${a},${b}) \cup (${b},${b + 4}]}$`],
    ["unseen5/sqrt-fraction-inside", R`\frac{\sqrt{6}}{3}`, R`$\boxed{\sqrt{\frac{2}{3}}}$`],
    ["unseen5/power-of-fraction", R`\frac{1}{${2 ** k}}`, R`$\boxed{\left(\frac{1}{2}\right)^{${k}}}$`],
    ["unseen5/negative-exponent-number", R`\frac{1}{${a * a}}`, R`$\boxed{${a}^{-2}}$`],
    ["unseen5/percent-increase-word", String(d), R`It increased by $\boxed{${d}\%}$.`],
    ["unseen5/answer-is-word", String(d), `The answer is **${d}**.`],
    ["unseen5/final-answer-colon-plain", String(d), `Final Answer: ${d}`],
    ["unseen5/hash-answer", String(d), `#### ${d}`],
    ["unseen5/gold-inequality-pred-text", R`x>${a}`, R`$\boxed{x > ${a}}$ is the solution set.`],
    ["unseen5/gold-two-inequalities", R`x<-${a} \text{ or } x>${a}`, R`$\boxed{|x| > ${a}}$`],
    ["unseen5/set-of-fractions", R`\{\frac{1}{2}, \frac{1}{3}\}`, R`$\boxed{\left\{\frac{1}{3}, \frac{1}{2}\right\}}$`],
    ["unseen5/tuple-fractions-decimals", R`(\frac{1}{2}, \frac{1}{4})`, R`$\boxed{(0.5, 0.25)}$`],
    ["unseen5/matrix-determinant-gold", String(a * k - b * c), R`$\boxed{\det\begin{pmatrix} ${a} & ${b} \\ ${c} & ${k} \end{pmatrix}}$`],
    ["unseen5/vector-bold", `(${a}, ${b}, ${c})`, R`$\mathbf{v} = \boxed{\begin{pmatrix} ${a} \\ ${b} \\ ${c} \end{pmatrix}}$`],
    ["unseen5/gcd-value", String(gcd(6 * a, 4 * a)), R`$\boxed{\gcd(${6 * a}, ${4 * a})}$`],
    ["unseen5/lcm-value", String(12 * a), R`$\boxed{\operatorname{lcm}(${4 * a}, ${6 * a})}$`],
    ["unseen5/floor-fraction", String(Math.floor(d / 7)), R`$\boxed{\left\lfloor \frac{${d}}{7} \right\rfloor}$`],
    ["unseen5/ceiling", String(Math.ceil(d / 7)), R`$\boxed{\lceil ${d}/7 \rceil}$`],
    ["unseen5/mod-congruence", String(d % 9), R`$${d} \equiv \boxed{${d % 9}} \pmod 9$`],
    ["unseen5/choice-with-text", L, R`The correct choice is $\boxed{\text{(${L}) } ${d}}$.`],
    ["unseen5/exp-decimal", R`e^{${k}}`, R`$\boxed{${Math.exp(k).toFixed(2)}}$`],
    // An eleventh wave, held out as a whole: the estimate after the tenth wave's changes.
    ["unseen6/cdot-in-fraction", frac(2 * c, 4), R`$\boxed{\frac{2 \cdot ${c}}{4}}$`],
    ["unseen6/surd-slash", R`\frac{${k}\sqrt{2}}{2}`, R`$\boxed{${k}\sqrt{2}/2}$`],
    ["unseen6/surd-cdot", R`${k}\sqrt{2}`, R`$\boxed{\sqrt{2}\cdot ${k}}$`],
    ["unseen6/power-minus-one", String(2 ** (k + 5) - 1), R`$\boxed{2^{${k + 5}} - 1}$`],
    ["unseen6/thousand-thin", String(1000 * a), R`$\boxed{${a}\,000}$`],
    ["unseen6/number-word", String(12), "The answer is twelve."],
    ["unseen6/minus-infinity", R`-\infty`, R`$\boxed{-\infty}$`],
    ["unseen6/half-line-gold-relation", R`x \le 0`, R`$\boxed{(-\infty, 0]}$`],
    ["unseen6/unit-interval-relation", "[0, 1]", R`$\boxed{0 \leq x \leq 1}$`],
    ["unseen6/neq-vs-union", R`(-\infty,0)\cup(0,+\infty)`, R`$\boxed{x \neq 0}$`],
    ["unseen6/point-union-interval", R`\{1\}\cup[2,3]`, R`$\boxed{\{1\} \cup [2, 3]}$`],
    ["unseen6/fraction-list-set", R`\{\frac{1}{3}, \frac{1}{2}\}`, R`$\boxed{\frac{1}{2}, \frac{1}{3}}$`],
    ["unseen6/mixed-one-half", R`\frac{3}{2}`, R`$\boxed{1\frac{1}{2}}$`],
    ["unseen6/negative-mixed", R`-\frac{${2 * c + 1}}{2}`, R`$\boxed{-${c}\frac{1}{2}}$`],
    ["unseen6/arcsin-one", R`\frac{\pi}{2}`, R`$\boxed{\sin^{-1}(1)}$`],
    ["unseen6/log-ten", String(k), R`$\boxed{\log_{10} ${10 ** k}}$`],
    ["unseen6/double-root", "2", R`$\boxed{\sqrt{\sqrt{16}}}$`],
    ["unseen6/euler-identity", "-1", R`$\boxed{e^{i\pi}}$`],
    ["unseen6/golden-slash", R`\frac{1+\sqrt{5}}{2}`, R`$\boxed{(1+\sqrt{5})/2}$`],
    ["unseen6/golden-reordered", R`\frac{1+\sqrt{5}}{2}`, R`$\boxed{\frac{\sqrt{5}+1}{2}}$`],
    ["unseen6/chain-equal-gold", "a=b=c", R`$\boxed{a=b=c}$`],
    ["unseen6/circle-moved", R`x^{2}+y^{2}=r^{2}`, R`$\boxed{x^2+y^2-r^2=0}$`],
    ["unseen6/angle-named-box", String(60), R`$\boxed{\angle A = 60^{\circ}}$`],
    ["unseen6/segment-relation", "AB=CD", R`$\boxed{AB = CD}$`],
    ["unseen6/integer-inequality", R`n \ge ${a + 1}`, R`$\boxed{n > ${a}}$`],
    ["unseen6/mathrm-letter", L, R`$\boxed{\mathrm{${L}}}$`],
    ["unseen6/textbf-letter-plain", L, R`$\boxed{\textbf{${L}}}$`],
    ["unseen6/and-text-box", `${a + 10}, ${a + 11}`, R`$\boxed{${a + 10}\text{ and }${a + 11}}$`],
    ["unseen6/cubic-units-word", String(d), R`$\boxed{${d} \text{ cubic units}}$`],
    ["unseen6/fraction-of-pi-degrees", String(45), R`$\boxed{\frac{\pi}{4} \text{ rad}}$`],
  ];
  return pairs.map(([family, gold, pred]) => ({ family: `realistic:${family}`, gold, pred }));
}

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

/** Endings a model writes after its reasoning, with the answer in one of its written forms. */
const ENDINGS: [string, (ans: string) => string][] = [
  ["llama-final", (x) => R`Therefore, the final answer is: $\boxed{${x}}$. I hope it is correct.`],
  ["step-final", (x) => R`## Step 3: Conclude
Therefore, the final answer is: $\boxed{${x}}$`],
  ["answer-is-colon", (x) => `The answer is: ${x}`],
  ["paren-boxed", (x) => R`Hence the answer is \(\boxed{${x}}\).`],
  ["final-answer-bold", (x) => R`**Final Answer**
\[
\boxed{${x}}
\]`],
  ["final-answer-sentence", (x) => R`The final answer is $\boxed{${x}}$.`],
  ["therefore-boxed", (x) => R`Therefore, the answer is $\boxed{${x}}$.<|im_end|>`],
  ["think-answer-tags", (x) => R`</think>
<answer>
The answer is $\boxed{${x}}$
</answer>`],
  ["display-boxed", (x) => R`Thus
$$
\boxed{${x}}
$$`],
  ["answer-colon-plain", (x) => `Answer: ${x}`],
];

/**
 * Whole responses: the reasoning of a real OpenR1 solution (its final answer line cut) followed by a model's
 * ending, with the gold answer in a written form (units, words, thin spaces, …) or a wrong value.
 */
export function responsePairs(solutions: { answer: string; solution: string }[], pick: <T>(xs: T[]) => T, rnd: Rnd): Pair[] {
  const out: Pair[] = [];
  for (const s of solutions) {
    const n = /^-?\d+$/.test(s.answer) ? Number(s.answer) : undefined;
    if (n === undefined) continue;
    const body = s.solution.replace(/\n*(?:The final answer is|Therefore, the answer is)[^\n]*$/, "").trim();
    const [endName, end] = pick(ENDINGS);
    const noun = pick(NOUNS);
    const forms: [string, string][] = [
      ["same", String(n)],
      ["with-unit", R`${n} \text{ ${noun}}`],
      ["with-mathrm-unit", R`${n}\,\mathrm{${pick(["cm", "m", "kg", "km"])}}`],
      ["wrong", String(n + rnd(1, 9))],
    ];
    if (Math.abs(n) >= 1000) forms.push(["thin-space", n.toLocaleString("en-US").replace(/,/g, R`\,`)]);
    const [formName, form] = pick(forms);
    out.push({ family: `openr1-response:${formName}`, gold: s.answer, pred: `${body}\n\n${end(form)}` });
    void endName;
  }
  return out;
}

/** OpenR1-style answers with forms a model may give for them (equivalent or not; the oracle decides). */
const ANSWER_FORMS: [string, string[]][] = [
  ["(1,2)", ["(1, 2)", "x=1, y=2", "(2,1)"]],
  [R`\frac{\sqrt{3}}{2}`, [R`\dfrac{\sqrt3}{2}`, R`\frac{1}{2}\sqrt{3}`, R`\frac{\sqrt{2}}{2}`]],
  ["[-1,3]", [R`-1 \leq x \leq 3`, R`x \in [-1, 3]`, "(-1,3)"]],
  [R`2\sqrt{2}`, [R`\sqrt{8}`, R`2\sqrt{3}`]],
  [R`\frac{\pi}{3}`, [R`\dfrac{\pi}{3}`, R`60^\circ`, R`\frac{1}{3}\pi`]],
  ["x=2", ["2", "x = 2", "x=3"]],
  [R`f(x)=x^{2}+1`, ["x^2+1", "f(x) = 1 + x^2", "x^2-1"]],
  [R`\{1,2,3\}`, ["1, 2, 3", R`\{3, 2, 1\}`, "1, 2"]],
  [R`(-\infty,-1)\cup(1,+\infty)`, [R`x<-1 \text{ or } x>1`, R`(-\infty, -1) \cup (1, \infty)`, R`(-1, 1)`]],
  ["a_{n}=2n+1", ["2n+1", "a_n = 2n + 1", "2n-1"]],
  [R`\text{B}`, ["B", R`\textbf{(B)}`, R`\text{(C)}`]],
  [R`100\mathrm{~m}`, ["100", R`100 \text{ m}`, "1000"]],
  [R`\frac{3}{4}`, ["0.75", R`\frac{6}{8}`, "0.7"]],
  [R`\sqrt[3]{4}`, ["4^{1/3}", "2^{2/3}", R`\sqrt{4}`]],
  ["n(n+1)", ["n^2+n", "n(n-1)"]],
  ["2^{n}-1", ["2^n-1", "2^{n-1}"]],
  [R`-\frac{1}{4}`, ["-0.25", R`\frac{1}{4}`]],
  ["3:2", [R`\frac{3}{2}`, "1.5", "2:3"]],
  [R`\frac{9}{4}\pi`, [R`\frac{9\pi}{4}`, R`2.25\pi`]],
  [R`4 \sqrt{3}`, [R`\sqrt{48}`, R`4\sqrt{2}`]],
  ["y=-2x+3", ["2x+y-3=0", "y = 3 - 2x", "y=2x+3"]],
  [R`\frac{x^{2}}{4}+y^{2}=1`, ["x^2+4y^2=4", R`\frac{x^2}{4} + \frac{y^2}{1} = 1`]],
  ["p=2, q=3", ["(2,3)", "p = 2, q = 3", "q=3, p=2"]],
  ["1008", [R`1\,008`, "1,008", "1008.0"]],
  [R`12 \mathrm{~cm}^{2}`, ["12", R`12\text{ cm}^2`, "24"]],
  [R`\text{C}`, ["C", "(C)", R`\mathrm{C}`]],
  [R`x \in (0,1)`, ["(0,1)", "0<x<1", "[0,1]"]],
  ["k=-1", ["-1", "k = -1", "1"]],
  [R`\frac{1}{2}`, ["0.5", "1/2", R`\frac{2}{4}`]],
  ["45^{\circ}", ["45", R`45^\circ`, R`\frac{\pi}{4}`]],
];

/** Whole R1-style responses (reasoning in <think>, a summary, the boxed answer) for the answers above. */
export function modelResponsePairs(pick: <T>(xs: T[]) => T, rnd: Rnd): Pair[] {
  const out: Pair[] = [];
  for (const [gold, forms] of ANSWER_FORMS) {
    const form = pick(forms);
    const [endName, end] = pick(ENDINGS);
    const x = rnd(2, 9);
    const body = R`<think>
Okay, let me work through this. First compute $${x} + ${x} = ${2 * x}$, then check the boundary case $x = ${x}$.
Wait, that gives $${2 * x}$, which is not the answer yet. Let me double-check the answer by substituting back.
</think>

Substituting gives $${x}^2 = ${x * x}$, and simplifying the expression yields the result.

`;
    out.push({ family: `model-response:${endName}`, gold, pred: body + end(form) });
  }
  return out;
}

/** Families judged before the checker was changed for them (see the module comment). */
export const HELD_OUT = new Set([
  // The sixth wave, every family of it.
  ...["dfrac-spaces", "slash-in-text", "decimal-comma", "approx-in-box", "approx-alone", "percent-thin-space", "ordinal",
    "money-comma", "negative-denominator", "malformed-sqrt-sum", "factored-surd", "set-relation-list", "set-builder-colon",
    "reversed-double-inequality", "bold-number", "boxed-then-unit-squared", "mixed-vs-fraction", "mixed-vs-decimal",
    "boxed-or-assignments", "big-integer", "big-power-vs-digits", "percent-probability", "labelled-point", "vector-named",
    "half-coefficient", "indexed-roots-pred", "all-reals", "no-solution", "two-part-answer", "answer-word-then-formula",
  ].map((f) => `realistic:unseen/${f}`),
  // The seventh wave, every family of it.
  ...["pm-assignment", "sequence-list", "arithmetic-in-box", "and-word-gold", "nested-box", "fbox", "box-with-remark",
    "displaystyle", "negative-power-ten", "e-notation", "per-hour", "sqrt-three-decimals", "pi-six-decimals",
    "negative-fraction-interval", "geq-fraction", "parameter-form", "arctan-power", "arcsin-half", "double-angle",
    "left-dot", "period-after-box", "dollar-box", "two-boxes-far", "frac-in-text-answer", "decimal-answer-colon",
    "gold-approx", "gold-text-number", "gold-boxed", "cube-root-of-cube", "log-fraction",
  ].map((f) => `realistic:unseen2/${f}`),
  // The eighth wave, every family of it.
  ...["bare-sqrt-gold", "bare-dfrac-surd-gold", "bare-polynomial-gold", "answer-line-then-box", "display-no-box",
    "box-then-where", "malformed-three-halves", "sqrt2-over-2", "rationalised-third", "hundred-percent", "and-in-list",
    "quad-gold", "year", "negative-scientific", "quadratic-formula", "golden-roots", "half-power", "log-braces",
    "product-of-roots", "x-over-x", "square-sign", "root-of-square-symbol", "log-of-exp", "abs-vs-x", "exp-of-log",
    "tan-quotient", "power-split", "cube-difference", "trig-pythagoras-expr", "nested-radical",
  ].map((f) => `realistic:unseen3/${f}`),
  // The ninth wave, every family of it.
  ...["system-cases", "cases-env", "plain-and-equations", "or-environments", "boxed-text-sentence", "three-part-ratio",
    "point-3d", "unicode-half", "frac-period-in-box", "paren-inline-answer", "bold-box", "parts-boxes", "big-factorial",
    "approx-after-surd", "limit", "definite-integral", "sum-closed-form", "derivative", "arccos-inverse",
    "right-angle-vs-half-pi", "named-pair-gold", "pair-vs-equations-gold", "in-set-pred", "singleton-set",
    "positive-integers", "dfrac-pi-degrees", "percent-word-gold", "fraction-word", "negative-interval-text",
    "tuple-in-text-sentence",
  ].map((f) => `realistic:unseen4/${f}`),
  // The tenth wave, every family of it.
  ...["money-cents-box", "speed-fraction-unit", "area-pi", "volume-frac-pi", "probability-percent-gold",
    "minutes-and-seconds", "gold-with-dollar-sign", "triple-boxes", "interval-union-three", "half-open-union",
    "sqrt-fraction-inside", "power-of-fraction", "negative-exponent-number", "percent-increase-word", "answer-is-word",
    "final-answer-colon-plain", "hash-answer", "gold-inequality-pred-text", "gold-two-inequalities", "set-of-fractions",
    "tuple-fractions-decimals", "matrix-determinant-gold", "vector-bold", "gcd-value", "lcm-value", "floor-fraction",
    "ceiling", "mod-congruence", "choice-with-text", "exp-decimal",
  ].map((f) => `realistic:unseen5/${f}`),
  // The eleventh wave, every family of it.
  ...["cdot-in-fraction", "surd-slash", "surd-cdot", "power-minus-one", "thousand-thin", "number-word", "minus-infinity",
    "half-line-gold-relation", "unit-interval-relation", "neq-vs-union", "point-union-interval", "fraction-list-set",
    "mixed-one-half", "negative-mixed", "arcsin-one", "log-ten", "double-root", "euler-identity", "golden-slash",
    "golden-reordered", "chain-equal-gold", "circle-moved", "angle-named-box", "segment-relation", "integer-inequality",
    "mathrm-letter", "textbf-letter-plain", "and-text-box", "cubic-units-word", "fraction-of-pi-degrees",
  ].map((f) => `realistic:unseen6/${f}`),
  "realistic:units/text-noun-no-space",
  "realistic:units/word-plain-in-box",
  "realistic:digits/tilde-space",
  "realistic:matrix/array-form",
  "realistic:matrix/determinant-value",
  "realistic:tuples/set-braces",
  "realistic:relation/gold-equation-pred-other-var",
  "realistic:text/in-union",
  "realistic:binom/choose",
  "realistic:function/max-min",
  "realistic:function/floor",
  "realistic:choice/letter-and-value",
  "realistic:number/fraction-6-digits",
  "realistic:number/pm-expression",
  "realistic:surd/cube-root",
  "realistic:pi/decimal",
  "realistic:expr/equation-rearranged",
  "realistic:several/semicolon-list",
]);
