/**
 * SnapStart hooks: code to run before Lambda snapshots the initialised environment, and after each
 * restore from it (refresh what must be unique per environment: random seeds, ids, credentials). Kept
 * on `globalThis` under a registered symbol, so the hooks a function registers through its own copy of
 * the `justfn` package reach the runtime's.
 */
const HOOKS = Symbol.for('justfn.snapstart.hooks');

type Hook = () => unknown | Promise<unknown>;
interface Hooks {
  before: Hook[];
  after: Hook[];
}

function hooks(): Hooks {
  const global = globalThis as unknown as Record<symbol, Hooks | undefined>;
  global[HOOKS] ??= { before: [], after: [] };
  return global[HOOKS];
}

/**
 * Runs `hook` before the snapshot is taken. Before-hooks run in reverse order of registration, as in
 * AWS's runtimes for Java, Python and .NET.
 *
 * @example
 * import { onBeforeSnapshot } from 'justfn';
 * onBeforeSnapshot(() => cache.clear());
 */
export function onBeforeSnapshot(hook: Hook): void {
  hooks().before.push(hook);
}

/**
 * Runs `hook` after each restore, in order of registration; a hook that throws fails the restore
 * (`/runtime/restore/error`).
 *
 * @example
 * import { onAfterRestore } from 'justfn';
 * onAfterRestore(() => { instanceId = crypto.randomUUID(); });
 */
export function onAfterRestore(hook: Hook): void {
  hooks().after.push(hook);
}

/** The runtime's side: run the hooks of one moment, awaiting each. */
export async function runSnapshotHooks(moment: 'before' | 'after'): Promise<void> {
  const list = moment === 'before' ? [...hooks().before].reverse() : hooks().after;
  for (const hook of list) await hook();
}
