// Interleaved rounds: every round measures every runtime once, so slow and fast spells of the machine fall
// on all of them alike. The order rotates from round to round (A B C, B C A, C A B, ...) so that no runtime
// always runs right after the same neighbour (a cold cache, or a CPU that has just clocked up).

/**
 * @param {number} rounds
 * @param {string[]} names
 * @param {(name: string, round: number) => Promise<Record<string, number>>} measure one runtime, one round
 * @param {(line: string) => void} log
 * @param {{ wait: () => Promise<void> }} quiet the gate each measurement waits at (lib/proc.mjs)
 * @returns {Record<string, Record<string, number[]>>} samples[name][metric][round]
 */
export async function interleave(rounds, names, measure, log, quiet) {
  const samples = Object.fromEntries(names.map((name) => [name, {}]));
  for (let round = 0; round < rounds; round++) {
    const parts = [];
    for (const name of rotated(names, round)) {
      await quiet.wait();
      const figures = await measure(name, round);
      for (const [metric, value] of Object.entries(figures)) {
        samples[name][metric] ??= Array(rounds).fill(Number.NaN);
        samples[name][metric][round] = value;
      }
      parts.push(`${name} ${Object.values(figures).map(short).join('/')}`);
    }
    log(`  round ${round + 1}/${rounds}: ${parts.join(' | ')}`);
  }
  return samples;
}

function short(value) {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** The items in the order of turn `turn`: A B C, then B C A, then C A B, ... */
export function rotated(items, turn) {
  return items.map((_, i) => items[(i + turn) % items.length]);
}
