// Preloaded by the test scripts (node --import): the test run's environment (OPENR1_BACKEND=webgpu for
// `npm run test:webgpu`, OPENR1_ORT_THREADS, …) read and applied once, as the CLI does at its entry.
import { applyEnvironment, readEnvironment } from "../src/environment.js";

applyEnvironment(readEnvironment(process.env));
