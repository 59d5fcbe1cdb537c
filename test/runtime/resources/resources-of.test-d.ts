import type { Client } from '@grpc/grpc-js';
import type { Pool as PgPool } from 'pg';
import type { Pool as UndiciPool } from 'undici';
import { describe, expectTypeOf, it } from 'vitest';
import type { ServiceFile } from '../../../runtime/config/schema.js';
import type { ServiceConfig } from '../../../runtime/config/service-config.js';
import { createResourceRegistry } from '../../../runtime/resources/registry.js';
import type { GrpcClient, ResourcesOf } from '../../../runtime/resources/resources-of.js';
import type { Resources as Generated } from './generated-resources.js';

describe('ResourcesOf', () => {
  type Resources = ResourcesOf<{ db: 'postgres'; auth: 'grpc'; billing: 'http' }>;

  it('maps each kind to its client type', () => {
    expectTypeOf<Resources['db']>().toEqualTypeOf<PgPool>();
    expectTypeOf<Resources['billing']>().toEqualTypeOf<UndiciPool>();
    expectTypeOf<Resources['auth']>().toEqualTypeOf<GrpcClient>();
    expectTypeOf<Resources['auth']>().toMatchTypeOf<Client>();
    expectTypeOf<keyof Resources>().toEqualTypeOf<'db' | 'auth' | 'billing'>();
  });

  it('is read-only, and RPC methods are callable', () => {
    const resources = {} as Resources;
    // @ts-expect-error context.resources cannot be reassigned
    resources.db = {} as PgPool;
    expectTypeOf(resources.auth.Check).toBeAny();
    expectTypeOf(resources.auth.close).toEqualTypeOf<() => void>();
  });

  it('rejects unknown kinds', () => {
    // @ts-expect-error 'redis' is not a kind
    type _Bad = ResourcesOf<{ cache: 'redis' }>;
  });

  it('types registry.resources', () => {
    const registry = createResourceRegistry<Resources>({}, { baseDir: '.', log: console });
    expectTypeOf(registry.resources.db.query).toBeFunction();
  });
});

describe('the generated declaration', () => {
  it('is the same type as the hand-written one', () => {
    expectTypeOf<Generated>().toEqualTypeOf<ResourcesOf<{ db: 'postgres'; auth: 'grpc'; billing: 'http' }>>();
  });
});

describe('the loaded config', () => {
  it('is the file format with defaults filled in', () => {
    expectTypeOf<ServiceConfig>().toMatchTypeOf<ServiceFile>();
    expectTypeOf<keyof ServiceConfig>().toEqualTypeOf<keyof ServiceFile>();
    expectTypeOf<ServiceConfig['timeout']>().toEqualTypeOf<number>();
  });
});
