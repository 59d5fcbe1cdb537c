/**
 * Lifecycle hooks a function registers: before Lambda snapshots the initialised environment and after
 * each restore from it (SnapStart), and at shutdown. Kept on `globalThis` under registered symbols, so
 * the hooks a function registers through its own copy of the `justfn` package reach the runtime's.
 */
type Hook = () => unknown | Promise<unknown>;

const SNAPSHOT_HOOKS = Symbol.for('justfn.snapstart.hooks');
const SHUTDOWN_HOOKS = Symbol.for('justfn.shutdown.hooks');

function list<T>(key: symbol, create: () => T): T {
  const global = globalThis as unknown as Record<symbol, T | undefined>;
  global[key] ??= create();
  return global[key];
}

const snapshotHooks = () => list(SNAPSHOT_HOOKS, () => ({ before: [] as Hook[], after: [] as Hook[] }));
const shutdownHooks = () => list(SHUTDOWN_HOOKS, () => [] as Hook[]);

/**
 * Runs `hook` before the snapshot is taken. Before-hooks run in reverse order of registration, as in
 * AWS's runtimes for Java, Python and .NET.
 *
 * @example
 * import { onBeforeSnapshot } from 'justfn';
 * onBeforeSnapshot(() => cache.clear());
 */
export function onBeforeSnapshot(hook: Hook): void {
  snapshotHooks().before.push(hook);
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
  snapshotHooks().after.push(hook);
}

/**
 * Runs `hook` when the process shuts down, before the resources close (they are still usable in it):
 * after the drain in the server modes (at most 3 s for every hook together); on Lambda when the platform
 * ends the environment (SIGTERM, which justfn asks Lambda for during init when a hook is registered by
 * then: register at module load), with at most a few hundred milliseconds for every hook together.
 * Hooks run in reverse order of registration; one that throws is logged and the others still run.
 *
 * @example
 * import { onShutdown } from 'justfn';
 * onShutdown(() => metrics.flush());
 */
export function onShutdown(hook: Hook): void {
  shutdownHooks().push(hook);
}

/** The runtime's side: run the hooks of one SnapStart moment, awaiting each; the first that throws fails it. */
export async function runSnapshotHooks(moment: 'before' | 'after'): Promise<void> {
  const hooks = snapshotHooks();
  const ordered = moment === 'before' ? [...hooks.before].reverse() : hooks.after;
  for (const hook of ordered) await hook();
}

/** Whether the function registered a shutdown hook (Lambda then asks for SIGTERM). */
export function hasShutdownHooks(): boolean {
  return shutdownHooks().length > 0;
}

/** The runtime's side: run every shutdown hook, last registered first; `failed` hears of each that throws. */
export async function runShutdownHooks(failed: (error: unknown) => void): Promise<void> {
  for (const hook of [...shutdownHooks()].reverse()) {
    try {
      await hook();
    } catch (error) {
      failed(error);
    }
  }
}
