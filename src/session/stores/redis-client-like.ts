/**
 * A node-redis v5 client from `createClient()`, as a structural type so the published
 * declarations do not need the optional `redis` package installed.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
}
