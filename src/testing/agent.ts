import type { App } from '../app.js';
import { CookieJar } from './cookie-jar.js';
import { inject, type InjectRequest, type InjectResponse } from './inject.js';

/** A request for one of an agent's method shortcuts: everything but the method and URL. */
export type AgentRequest = Omit<InjectRequest, 'method' | 'url'>;

/** A client that keeps cookies between requests, as a browser does. */
export interface Agent {
  request(request: InjectRequest): Promise<InjectResponse>;
  get(url: string, request?: AgentRequest): Promise<InjectResponse>;
  post(url: string, request?: AgentRequest): Promise<InjectResponse>;
  put(url: string, request?: AgentRequest): Promise<InjectResponse>;
  patch(url: string, request?: AgentRequest): Promise<InjectResponse>;
  delete(url: string, request?: AgentRequest): Promise<InjectResponse>;
  /** The cookies the jar would send with a request for `path` (default `/`). */
  cookies(path?: string): Record<string, string>;
  /** Forget every cookie, as a fresh browser. */
  clearCookies(): void;
}

/**
 * A test client with a cookie jar (supertest's agent, Phoenix's ConnTest): each request goes
 * through `inject`, carrying the cookies earlier responses set for its path; a `Set-Cookie` that
 * has expired (`Max-Age=0`, as a logout sends) removes its cookie. `Secure` cookies are sent too,
 * as browsers send them to `localhost`. Redirects are not followed: assert on them, then ask for
 * the next page.
 *
 * @example
 * ```ts
 * import { agent } from 'nova-ts/testing';
 *
 * const browser = agent(app);
 * const login = await browser.post('/login', { form: { username: 'ada', password: 'password' } });
 * assert.equal(login.status, 302);
 * const home = await browser.get('/');
 * assert.match(home.body, /Hello ada/);
 * await app.close();
 * ```
 */
export function agent(app: App): Agent {
  const jar = new CookieJar();
  const request = async (req: InjectRequest): Promise<InjectResponse> => {
    const path = pathOf(req.url);
    const fromJar = Object.fromEntries(jar.cookies(path));
    // Cookies given with the request win over the jar's of the same name.
    const res = await inject(app, { ...req, cookies: { ...fromJar, ...req.cookies } });
    jar.store(res.headers['set-cookie'] ?? [], path);
    return res;
  };
  const shortcut =
    (method: string) =>
    (url: string, req: AgentRequest = {}) =>
      request({ ...req, method, url });
  return {
    request,
    get: shortcut('GET'),
    post: shortcut('POST'),
    put: shortcut('PUT'),
    patch: shortcut('PATCH'),
    delete: shortcut('DELETE'),
    cookies: (path = '/') => Object.fromEntries(jar.cookies(path)),
    clearCookies: () => jar.clear(),
  };
}

function pathOf(url: string): string {
  const path = new URL(url, 'http://localhost').pathname;
  return path === '' ? '/' : path;
}
