/**
 * The parts of `pg` the PostgreSQL store uses, as our own structural types: the published
 * declarations must compile for an app that has not installed `pg` (an optional peer dependency).
 * A `pg.Pool` and the clients it hands out fit them.
 */

/** A query's answer: the rows and how many rows the statement touched. */
export interface QueryResult {
  // biome-ignore lint/suspicious/noExplicitAny: rows are shaped by each statement; the store checks the columns it reads
  rows: any[];
  rowCount: number | null;
}

/** A client checked out of the pool. */
export interface PoolClient {
  query(text: string, values?: unknown[]): Promise<QueryResult>;
  release(err?: Error | boolean): void;
}

/** A `pg.Pool`, or anything with the same methods. */
export interface Pool {
  connect(): Promise<PoolClient>;
  query(text: string, values?: unknown[]): Promise<QueryResult>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
