/** Worker side of AnswerChecker: verifies requests and signals completion through shared memory. */
import { parentPort, workerData } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { checkAnswer, type VerifyOptions } from "./verify.js";
import { accuracyReward } from "./rewards.js";
import type { CheckRequest, CheckSummary } from "./checker.js";

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };

function summarize(req: CheckRequest): CheckSummary {
  try {
    if (req.kind === "accuracy") {
      const reward = accuracyReward(req.pred, req.gold);
      return { correct: reward === 1, timedOut: false, goldParsed: reward !== null, predParsed: false, goldExtracted: null, predExtracted: null, reward };
    }
    const r = checkAnswer(req.gold, req.pred, req.options as Partial<VerifyOptions>);
    return {
      correct: r.correct,
      timedOut: false,
      goldParsed: r.gold.value !== null,
      predParsed: r.pred.value !== null,
      goldExtracted: r.gold.valueText ?? r.gold.text,
      predExtracted: r.pred.valueText ?? r.pred.text,
    };
  } catch (e) {
    return { correct: false, timedOut: false, goldParsed: false, predParsed: false, goldExtracted: null, predExtracted: null, error: String(e) };
  }
}

port.on("message", (req: CheckRequest) => {
  port.postMessage({ id: req.id, summary: summarize(req) });
  Atomics.store(flag, 0, req.id);
  Atomics.notify(flag, 0);
});
// Warm the CAS up, then report ready.
summarize({ id: 0, kind: "verify", gold: "$\\frac{1}{2}$", pred: "0.5", options: {} });
Atomics.store(flag, 1, 1);
Atomics.notify(flag, 1);
parentPort?.postMessage("ready");
