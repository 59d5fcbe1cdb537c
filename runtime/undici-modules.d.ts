// The parts of undici that justfn loads one by one, typed as the package's own: its root also loads
// fetch, WebSocket, the cache and the mock agents, which cost start-up time. The Runtime API client uses
// the Client alone (adapters/lambda/); the `http` resource kind the Pool with its request API
// (runtime/resources/undici-pool.ts).
declare module 'undici/lib/dispatcher/client.js' {
  import { Client } from 'undici';
  export default Client;
}
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici';
  export default Dispatcher;
}
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
declare module 'undici/lib/api/index.js' {
  const api: Record<string, unknown>;
  export default api;
}
