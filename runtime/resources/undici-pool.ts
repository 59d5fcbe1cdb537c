/// <reference path="../undici-modules.d.ts" />
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Pool from 'undici/lib/dispatcher/pool.js';

// undici's Pool and its request API without the rest of the package: its root also loads fetch,
// WebSocket, the cache, the mock agents and, through its cookies module, Node's own copy of undici
// (30 ms of every init that declares an `http` resource, measured). The root adds the request API
// (`request`, `stream`, `pipeline`, `upgrade`, `connect`) to every dispatcher the same way.
Object.assign(Dispatcher.prototype, api);

export { Pool };
