// The example's routes (the spec's my_first_nova_router:routes/1), plus "your sessions".
import { csrf, routeGroup, status, type RouteGroup } from 'nova-ts';
import { sessionAuth, usernamePassword } from './auth.js';
import * as main from './main-controller.js';
import * as sessions from './sessions-controller.js';

export function routes(_environment: string): RouteGroup[] {
  return [
    // Public routes
    {
      prefix: '',
      security: false,
      routes: [
        ['/login', main.login, { methods: ['get'] }],
        ['/heartbeat', () => status(200), { methods: ['get'] }],
        ['/profile', main.profile, { methods: ['get'] }],
      ],
    },
    // Login POST (uses username/password auth)
    routeGroup({
      prefix: '',
      security: usernamePassword,
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
