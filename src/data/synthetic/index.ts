// Generated maths problems with step-by-step solutions, as OpenR1-Math-220k rows.
export { PROBLEM_FAMILIES, generateProblem, generateProblems, problemPool, solutionText } from "./problems.js";
export type { GeneratedProblem, ProblemPool } from "./problems.js";
export { generatedRow } from "./rows.js";
