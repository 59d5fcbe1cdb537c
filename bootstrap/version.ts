import pkg from '../package.json' with { type: 'json' };

/** justfn's own version, as the Runtime API `User-Agent` and the CLI report it. */
export const VERSION: string = pkg.version;
