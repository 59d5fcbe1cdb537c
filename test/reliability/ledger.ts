/**
 * Exactly-once bookkeeping for a soak: every numbered request must be answered once, by its own
 * invocation (a request id seen once), and the handler must have run once per answer.
 */
export function createLedger() {
  const answers = new Map<number, number>();
  const requestIds = new Set<string>();
  const invocations = new Set<number>();
  const problems: string[] = [];
  let repeatedIds = 0;
  let failed = 0;
  const note = (problem: string) => {
    if (problems.length < 10) problems.push(problem);
  };
  return {
    /** A correct answer for request `n`: its request id, and the handler's running invocation count. */
    answered(n: number, requestId: string, invocation: number) {
      answers.set(n, (answers.get(n) ?? 0) + 1);
      if (requestIds.has(requestId)) {
        repeatedIds += 1;
        note(`request id ${requestId} answered twice`);
      }
      requestIds.add(requestId);
      invocations.add(invocation);
    },
    /** Request `n` got no answer, or a wrong one. */
    failed(n: number, problem: string) {
      failed += 1;
      note(`#${n}: ${problem}`);
    },
    /** The figures for `sent` requests. */
    summary(sent: number) {
      const once = answers.size;
      const extraAnswers = [...answers.values()].reduce((sum, times) => sum + times - 1, 0);
      // The handler counts its runs: more runs than answers means an invocation ran twice, or unanswered.
      const extraRuns = Math.max(0, Math.max(0, ...invocations) - once);
      return {
        sent,
        answered: once,
        lost: sent - once,
        duplicated: extraAnswers + repeatedIds + extraRuns,
        failed,
        problems,
      };
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
