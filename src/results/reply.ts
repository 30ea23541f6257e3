import type { Headers } from './result.js';

/** A file to stream as the body. */
export interface FileBody {
  readonly file: string;
  readonly start: number;
  /** Inclusive end offset, or undefined for the rest of the file. */
  readonly end: number | undefined;
}

/**
 * What the result handler produces and the pipeline writes: status, headers and body. Headers and
 * cookies set on the context earlier are already on the response and are not repeated here.
 */
export interface Reply {
  status: number;
  headers: Headers;
  body: string | Buffer | FileBody | undefined;
}
