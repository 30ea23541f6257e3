// The example's routes (the spec's my_first_nova_router:routes/1), plus "your sessions".
import { csrf, json, routeGroup, staticFiles, status, type AppReadiness, type Plugin, type RouteGroup } from 'nova-ts';
import { sessionAuth, usernamePassword } from './auth.js';
import * as main from './main-controller.js';
import * as sessions from './sessions-controller.js';

/**
 * The routes; `readiness` (the app's, see app.ts) answers `GET /ready`; `loginLimit` (app.ts, from
 * `LOGIN_RATE_LIMIT`) guards the login POST. It runs after the app's `requestPlugin()`, before the
 * password is checked, so a refused attempt costs no password check.
 */
export function routes(_environment: string, readiness: () => AppReadiness, loginLimit: Plugin[] = []): RouteGroup[] {
  return [
    // Public routes
    {
      prefix: '',
      security: false,
      routes: [
        ['/login', main.login, { methods: ['get'] }],
        // Liveness (the spec's): 200 while the process answers at all.
        ['/heartbeat', () => status(200), { methods: ['get'] }],
        // Readiness, for a load balancer: 503 while this node should get no traffic (starting,
        // closing, or its replicated sessions fenced off from the cluster or catching up).
        ['/ready', () => ready(readiness()), { methods: ['get'] }],
        ['/profile', main.profile, { methods: ['get'] }],
        // The stylesheet (public/app.css): GET and HEAD, with ETag and 304, and no session step.
        ['/assets/[...]', staticFiles(new URL('./public', import.meta.url))],
      ],
    },
    // Login POST (uses username/password auth), limited per client address
    routeGroup({
      prefix: '',
      security: usernamePassword,
      plugins: loginLimit,
      routes: [['/login', main.loginPost, { methods: ['post'] }]],
    }),
    // Protected pages (uses session auth)
    routeGroup({
      prefix: '',
      security: sessionAuth,
      routes: [
        ['/', main.index, { methods: ['get'] }],
        ['/logout', main.logout, { methods: ['get'] }],
      ],
    }),
    // The user's sessions; the forms that end them carry a CSRF token.
    routeGroup({
      prefix: '/sessions',
      security: sessionAuth,
      plugins: [csrf()],
      routes: [
        ['', sessions.list, { methods: ['get'] }],
        ['/revoke-others', sessions.revokeOthers, { methods: ['post'] }],
        ['/:handle/revoke', sessions.revokeOne, { methods: ['post'] }],
      ],
    }),
  ];
}

function ready({ ready, reasons }: AppReadiness) {
  const headers = { 'cache-control': 'no-store' };
  return ready ? json({ ready }, { headers }) : json({ ready, reasons }, { status: 503, headers });
}
