// Interleaved rounds: every round measures every runtime once, so slow and fast spells of the machine fall
// on all of them alike. The order changes from round to round as a balanced Latin square (below): each
// runtime takes each place once every n rounds and follows each other runtime equally often, so that none
// always runs first, or always right after the same neighbour (a cold cache, a CPU that has just clocked up).

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

/**
 * The items in the order of turn `turn`: the rows of a Williams design (a balanced Latin square). Row 0 is
 * 0, 1, n−1, 2, n−2, …; row t adds t to each (mod n). With n even, every n turns each item takes each
 * place once and follows each other item once (A B D C, B C A D, C D B A, D A C B); with n odd, the next n
 * turns run the rows backwards, which balances who follows whom over 2n.
 */
export function rotated(items, turn) {
  const n = items.length;
  const row = [];
  for (let i = 0, low = 1, high = n - 1; i < n; i++)
    row.push(((i === 0 ? 0 : i % 2 ? low++ : high--) + turn) % n);
  if (n % 2 === 1 && Math.floor(turn / n) % 2 === 1) row.reverse();
  return row.map((j) => items[j]);
}
