// undici's Client alone: the package root also loads fetch, WebSocket and the cache, which Lambda mode
// never uses and which cost cold-start time.
declare module 'undici/lib/dispatcher/client.js' {
  import { Client } from 'undici';
  export default Client;
}
