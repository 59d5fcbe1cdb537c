import { afterAll } from 'vitest';
import { killLeftovers } from './helpers/process.js';

// After every test file's own hooks: what its tests started and did not end.
afterAll(killLeftovers);
