import { JustfnError } from '../errors.js';
import { shareInstanceof } from '../shared-class.js';

/**
 * `justfn.yaml` cannot be used. `problems` holds one line per problem, each naming the file and the place
 * (`justfn.yaml: resources.db.url: ${DATABASE_URL} is not set`); the message is those lines. It carries no
 * stack of its own (the lines are the whole story) and never a secret value.
 *
 * @example
 * try { loadServiceConfig(file, env); } catch (e) { if (e instanceof ConfigError) console.error(e.message); }
 */
export class ConfigError extends JustfnError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', problems.join('\n'));
    this.problems = Object.freeze([...problems]);
    // Printed as is by `justfn check` and in init errors: the stack would only point into the loader.
    Object.defineProperty(this, 'stack', {
      value: `${this.name}: ${this.message}`,
      configurable: true,
      writable: true,
    });
  }
}
// `justfn.yaml` is read by a bundle of its own (dist/config.cjs): its errors must pass `instanceof` here too.
shareInstanceof(ConfigError, 'ConfigError');
