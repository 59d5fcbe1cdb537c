import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8 flags for a Lambda-mode process, set once the bundles with a code cache have been compiled (flags
 * change V8's flag hash, which a cache must match, so they cannot be given on the command line), before
 * undici's HTTP parser — which is WebAssembly — is compiled:
 * - `--liftoff-only`: V8's background recompilation of the parser into optimised code holds about 11 MiB
 *   for a parser that is fast enough on its baseline code (same rate and CPU per invocation, measured).
 * - `--no-wasm-lazy-compilation`: compile the whole parser at once, on a background thread during init,
 *   rather than function by function while it parses the first `/next` response.
 * Both apply to any WebAssembly the function itself compiles.
 */
export function tuneV8(): void {
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--no-wasm-lazy-compilation');
}

declare const WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> };

/**
 * Compiles undici's WebAssembly HTTP parser (`dist/llhttp.wasm`, the bytes undici reads too) on V8's
 * background threads while the main thread loads the function. V8 keeps one compiled module per process
 * for the same bytes, so undici's own (synchronous) compile at the first connection finds it done; and
 * since `tuneV8` turned lazy compilation off, done means every function of it — the first `/next`
 * response is not parsed by a parser compiling itself as it goes (2 ms of the first invocation, for
 * about 1 ms more of start-up). Best effort: without it undici compiles.
 */
export function precompileHttpParser(): void {
  try {
    WebAssembly.compile(readFileSync(path.join(__dirname, 'llhttp.wasm'))).catch(() => {});
  } catch {}
}

/** Longer than V8's allocation-rate window, after which an idle process's rate reads as low. */
const QUIET_WINDOW_MS = 6_000;

/**
 * One full garbage collection after the process has had nothing to do for `delayMs`: V8 gives memory
 * back to the system only after a major GC, which a steady stream of short invocations never triggers,
 * so an instance that served a burst would otherwise keep the burst's heap while it waits. On Lambda the
 * process is frozen between invocations and the timer simply never fires.
 *
 * V8 shrinks the young generation — which a burst grows to 32 MiB — only at a collection that finds the
 * allocation rate since the collection before low over its 5 s window (`kThroughputTimeFrameMs`). The
 * first collection still counts what the burst allocated after its last scavenge (up to 16 MiB), however
 * long the wait, so it frees the old generation and often keeps the young one's 15-35 MiB: a second
 * collection follows once a quiet window has passed since the first.
 *
 * With `thorough`, each collection is two back to back: the second finds nothing allocated since the
 * first, which is when V8 shrinks the young generation to its minimum and compacts what the first left
 * fragmented (1.2-2 MiB less RSS in Lambda mode, measured). The server modes keep one: the next burst
 * pays for a young generation regrown from its minimum (more scavenges in its first seconds). On V8 12
 * (Node 22) every collection here is a last-resort one (see `fullGc`), which shrinks it anyway; the
 * server modes wait longer for that reason (`createServingQueue`).
 *
 * `idle()` and `busy()` come once per invocation under load, so they only note the time: one timer is
 * armed per quiet spell and re-armed if work came meanwhile, not one set and cleared per invocation
 * (a `Timeout`, two timer-list operations and, under AsyncLocalStorage, an async hook each time).
 *
 * @example
 * const idle = createIdleCollector();
 * idle.idle();  // nothing running: collect in 6 s, and again 6 s later, unless work arrives
 * idle.busy();  // work arrived: no collection until the next idle()
 */
export function createIdleCollector({ delayMs = QUIET_WINDOW_MS, thorough = false, gc = fullGc } = {}) {
  let timer: NodeJS.Timeout | undefined;
  /** When the current quiet spell began; undefined while work runs. */
  let idleSince: number | undefined;
  /** Collections made in the current quiet spell: two at most. */
  let collections = 0;
  const collect = () => {
    gc();
    if (thorough) gc();
  };
  const arm = (ms: number) => {
    timer = setTimeout(wake, ms).unref();
  };
  const wake = () => {
    timer = undefined;
    if (idleSince === undefined) return;
    const due = idleSince + delayMs + (collections === 0 ? 0 : QUIET_WINDOW_MS);
    const now = Date.now();
    if (now < due) return arm(due - now);
    collect();
    collections += 1;
    if (collections < 2) arm(QUIET_WINDOW_MS);
  };
  return {
    idle() {
      idleSince = Date.now();
      collections = 0;
      if (!timer) arm(delayMs);
    },
    busy() {
      idleSince = undefined;
    },
  };
}

let v8Gc: ((options?: object) => void) | undefined;

/**
 * V8 12 (Node 22) keeps the pages a collection frees in a pool for reuse instead of returning them to
 * the system: after a burst, RSS stayed at ~113 MiB with a 10 MiB heap (measured: "pooled: 41 MB" in
 * `--trace-gc`). Only a last-resort collection empties the pool. Node 20's V8 has no pool, and reads an
 * options object its own way (`{ type: 'major' }` is a scavenge there), so it gets a plain gc().
 */
const lastResort = Number(process.versions.v8.split('.')[0]) >= 12;

/** A full garbage collection that also gives freed pages back to the system. */
function fullGc(): void {
  // The gc() of a fresh context, once --expose-gc is set: the only way to ask V8 for a full collection.
  if (!v8Gc) {
    setFlagsFromString('--expose-gc');
    v8Gc = runInNewContext('gc') as (options?: object) => void;
  }
  if (lastResort) v8Gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else v8Gc();
}
