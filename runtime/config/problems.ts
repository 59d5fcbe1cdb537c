/**
 * A place in the document: mapping keys and list indexes from the top.
 *
 * @example
 * const where: ConfigPath = ['resources', 'db', 'url'];
 */
export type ConfigPath = readonly (string | number)[];

/**
 * One thing wrong with `justfn.yaml`, before it is given the file name.
 *
 * @example
 * const problem: Problem = { path: ['resources', 'db', 'url'], message: 'required' };
 */
export interface Problem {
  path: ConfigPath;
  message: string;
}

const plainKey = /^[A-Za-z_$][\w$-]*$/;

/**
 * The path as users read it: `resources.db.pool.max`, `resources["my db"]`, `list[0]`.
 *
 * @example
 * formatPath(['resources', 'db', 'pool', 'max']); // 'resources.db.pool.max'
 */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (plainKey.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/**
 * One line per problem: `justfn.yaml: resources.db.url: ${DATABASE_URL} is not set`.
 *
 * @example
 * formatProblem('justfn.yaml', { path: ['name'], message: 'required' }); // 'justfn.yaml: name: required'
 */
export function formatProblem(file: string, problem: Problem): string {
  const where = formatPath(problem.path);
  return where === '' ? `${file}: ${problem.message}` : `${file}: ${where}: ${problem.message}`;
}

/**
 * A stable key for a path, for sets of paths.
 *
 * @example
 * new Set([pathKey(['resources', 'db', 'url'])]).has(pathKey(['resources', 'db', 'url'])); // true
 */
export const pathKey = (path: ConfigPath): string => JSON.stringify(path);
