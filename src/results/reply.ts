import type { NodeResponse } from '../node-http.js';
import type { Headers } from './result.js';

/** A file to stream as the body. */
export interface FileBody {
  readonly file: string;
  readonly start: number;
  /** Inclusive end offset, or undefined for the rest of the file. */
  readonly end: number | undefined;
}

/**
 * A body that writes its own status line, headers and bytes once the pipeline's headers (cookies,
 * security headers) are on the response: a static file, whose answer (200, 206, 304, 416) depends
 * on the request's conditional and range headers.
 */
export interface StreamedBody {
  readonly writeTo: (res: NodeResponse) => void;
}

/**
 * What the result handler produces and the pipeline writes: status, headers and body. Headers and
 * cookies set on the context earlier are already on the response and are not repeated here.
 */
export interface Reply {
  status: number;
  headers: Headers;
  body: string | Buffer | FileBody | StreamedBody | undefined;
}
