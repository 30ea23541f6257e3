// The routes, as data (Nova's router module): groups with a prefix, a security function
// (`false`: public), plugins and routes. `npx nova-ts routes` prints them.
import { staticFiles, type RouteGroup } from 'nova-ts';
import * as main from './main-controller.js';

/** The route table for an environment (`config.environment`: "dev" or "prod"). */
export function routes(_environment: string): RouteGroup[] {
  return [
    {
      prefix: '',
      security: false,
      routes: [
        ['/', main.index, { methods: ['get'] }],
        ['/heartbeat', main.heartbeat, { methods: ['get'] }],
        // public/ under /assets: ETag, 304, ranges; static routes skip the session step.
        ['/assets/[...]', staticFiles(new URL('../public/', import.meta.url))],
      ],
    },
  ];
}
