// Prelude "nova": the nova-ts names a docs fragment uses without importing them, as if the page
// had shown its imports once at the top. Global declarations: a block's own import of the same
// name shadows them. Not part of the project's compilation (see tsconfig.json "exclude").
import type * as nova from 'nova-ts';
import type * as url from 'node:url';

declare global {
  const createApp: typeof nova.createApp;
  const session: typeof nova.session;
  const flash: typeof nova.flash;
  const view: typeof nova.view;
  const json: typeof nova.json;
  const status: typeof nova.status;
  const redirect: typeof nova.redirect;
  const sendfile: typeof nova.sendfile;
  const allow: typeof nova.allow;
  const deny: typeof nova.deny;
  const routeGroup: typeof nova.routeGroup;
  const requestPlugin: typeof nova.requestPlugin;
  const csrf: typeof nova.csrf;
  const csrfToken: typeof nova.csrfToken;
  const cors: typeof nova.cors;
  const correlationId: typeof nova.correlationId;
  const rateLimit: typeof nova.rateLimit;
  const memoryStore: typeof nova.memoryStore;
  const fileURLToPath: typeof url.fileURLToPath;
  // biome-ignore lint/suspicious/noExplicitAny: as nova.Context: a context typed without auth data carries any
  type Context<A = any> = nova.Context<A>;
  type RouteGroup = nova.RouteGroup;
  // biome-ignore lint/suspicious/noExplicitAny: as nova.Controller: a route typed without auth data holds any controller
  type Controller<A = any> = nova.Controller<A>;
}
