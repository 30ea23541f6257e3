// A Nova.ts app with the JSON route behind a security group and a global plugin, sessions off:
// the whole pipeline minus sessions, which have their own benchmark.
import { ready } from './ready.js';
import { createApp, json } from 'nova-ts';

const app = createApp({
  host: '127.0.0.1',
  port: 0,
  useSessions: false,
  routes: [
    {
      prefix: '',
      security: false,
      routes: [
        [
          '/json',
          function hello() {
            return json({ hello: 'world' });
          },
          { methods: ['get'] },
        ],
      ],
    },
  ],
});
const server = await app.listen();
ready(server);
