// What the bench needs before it can measure anything: its own dependencies (aws-lambda-ric compiles a
// native addon at install, hence the Debian build tools) and an up-to-date build of justfn.
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Debian packages aws-lambda-ric@3's install needs (it builds curl and aws-lambda-cpp, then node-gyp). */
const TOOLS = [
  { bin: 'cmake', pkg: 'cmake' },
  { bin: 'autoconf', pkg: 'autoconf' },
  { bin: 'automake', pkg: 'automake' },
  // Debian's libtool package installs libtoolize (the `libtool` script itself is in libtool-bin).
  { bin: 'libtoolize', pkg: 'libtool' },
  { bin: 'g++', pkg: 'g++' },
  { bin: 'make', pkg: 'make' },
  { bin: 'python3', pkg: 'python3' },
];

function onPath(bin) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Debian packages whose tools are missing, e.g. `['libtool', 'g++']`. */
export function missingBuildTools() {
  return TOOLS.filter((tool) => !onPath(tool.bin)).map((tool) => tool.pkg);
}

const missingToolsMessage = (packages) =>
  `missing build tools for aws-lambda-ric's native addon: ${packages.join(', ')}\n` +
  `  install them with: apt-get install -y ${packages.join(' ')}`;

/**
 * Installs bench/node_modules with `npm ci` when it is missing or older than bench/package-lock.json, after
 * checking the build tools; then checks that aws-lambda-ric's addon was really built (npm skips install
 * scripts that bench/package.json's allowScripts does not approve).
 */
export function ensureBenchDeps(benchDir, log) {
  const addon = path.join(benchDir, 'node_modules/aws-lambda-ric/dist/rapid-client.node');
  const installed = path.join(benchDir, 'node_modules/.package-lock.json');
  const fresh =
    existsSync(addon) &&
    existsSync(installed) &&
    statSync(installed).mtimeMs >= statSync(path.join(benchDir, 'package-lock.json')).mtimeMs;
  const missing = missingBuildTools();
  if (fresh) {
    if (missing.length > 0)
      log(`note: ${missingToolsMessage(missing)}\n  (not needed now: bench/node_modules is installed)`);
    return;
  }
  if (missing.length > 0) throw new Error(missingToolsMessage(missing));
  log('installing bench dependencies (npm ci in bench/; aws-lambda-ric compiles its addon, about a minute)');
  // Their output goes to stderr: stdout carries only the results table.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: ['ignore', 2, 2] });
  if (!existsSync(addon)) {
    throw new Error(
      `aws-lambda-ric's native addon was not built (${addon} is missing): check allowScripts in bench/package.json`,
    );
  }
}

const SOURCES = ['runtime', 'adapters', 'bootstrap', 'scripts', 'package.json', 'package-lock.json'];
const OUTPUTS = [
  'dist/main.cjs',
  'dist/lambda.cjs',
  'dist/lambda.cjs.cache',
  'dist/http.cjs',
  'dist/http.cjs.cache',
  'dist/grpc.cjs',
  'dist/resources.cjs',
];

function newestMtime(file) {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(file).map((entry) => newestMtime(path.join(file, entry))));
}

/** Runs justfn's build when dist/ is missing or older than any of its sources. */
export function ensureBuild(root, log) {
  const outputs = OUTPUTS.map((file) => statSync(path.join(root, file), { throwIfNoEntry: false }));
  const oldestOutput = outputs.some((stat) => !stat) ? 0 : Math.min(...outputs.map((stat) => stat.mtimeMs));
  const newestSource = Math.max(...SOURCES.map((file) => newestMtime(path.join(root, file))));
  if (oldestOutput >= newestSource) return;
  if (!existsSync(path.join(root, 'node_modules/esbuild'))) {
    throw new Error('justfn is not installed: run `npm ci` at the repository root first');
  }
  log(
    oldestOutput === 0
      ? 'building justfn (dist/ is missing)'
      : 'building justfn (dist/ is older than its sources)',
  );
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
}

/**
 * Copies justfn's entry script and dist/ to a private folder for the length of the run, laid out as in a
 * checkout (`<dir>/bootstrap/bootstrap` finds `<dir>/dist/main.cjs` through its `$here/../dist` candidate):
 * the work tree is shared, and a build started by someone else deletes dist/ first, which would break a
 * spawn in the middle of the rounds. The bundles are self-contained (they load only Node built-ins and each
 * other, by relative path), and V8 keys its code cache on the source, not the file name, so the copy starts
 * exactly as the original does. The code caches and `bootstrap/node-flags` are then written as the image
 * build writes them, by the driver's Node: a run under another Node measures justfn as that Node's image
 * would start it.
 */
export function snapshotRuntime(root) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'justfn-bench-'));
  cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  mkdirSync(path.join(dir, 'bootstrap'));
  const bootstrap = path.join(dir, 'bootstrap/bootstrap');
  copyFileSync(path.join(root, 'bootstrap/bootstrap'), bootstrap);
  chmodSync(bootstrap, 0o755);
  // What the image build does next, with the Node that runs the bench: the code caches (V8 refuses one
  // another Node version wrote) and the options the bootstrap starts that Node with (bootstrap/node-flags).
  const dist = path.join(dir, 'dist');
  for (const file of readdirSync(dist).filter((name) => name.endsWith('.cache')))
    rmSync(path.join(dist, file));
  for (const mode of ['lambda', 'http', 'splits', 'grpc', 'flags']) {
    execFileSync(process.execPath, [path.join(root, 'scripts/warm.cjs'), dist, mode], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 2],
    });
  }
  return {
    bootstrap,
    main: path.join(dir, 'dist/main.cjs'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * How the suites start justfn: `entry` 'bootstrap' runs the POSIX sh script as Lambda (`/opt/bootstrap`)
 * and the container image (ENTRYPOINT) do — it finds node on PATH and execs `node dist/main.cjs "$@"`;
 * 'node' runs `node dist/main.cjs` directly, one `sh` start less. Returns `args => [command, argv]`.
 */
export function justfnCommand(snapshot, entry) {
  if (entry === 'bootstrap') return (args) => [snapshot.bootstrap, args];
  if (entry === 'node') return (args) => [process.execPath, [snapshot.main, ...args]];
  throw new Error(`--entry must be bootstrap or node, not ${entry}`);
}
