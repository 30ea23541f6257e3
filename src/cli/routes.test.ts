import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRoutes, loadRoutes } from './routes.js';

/** The example's app.js, typed here: the example is a project of its own (examples/tsconfig.json). */
interface ExampleApp {
  buildApp(env: NodeJS.ProcessEnv): { router: { table(): Array<[string, string, string]> } };
}

const EXAMPLE_ROUTER = fileURLToPath(new URL('../../examples/login/router.js', import.meta.url));
const NOVA = new URL('../index.js', import.meta.url).href;

describe('nova-ts routes', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'nova-routes-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("lists the example's routes: its routes() takes more than the environment, the rest have defaults or are used only per request", async () => {
    const rows = await loadRoutes({ module: EXAMPLE_ROUTER });
    const line = (method: string, path: string) => rows.find((r) => r.path === path && r.methods.includes(method));
    assert.deepEqual(line('GET', '/login'), { methods: ['GET', 'HEAD'], path: '/login', security: 'public', controller: 'login', plugins: [] });
    assert.deepEqual(line('POST', '/login'), { methods: ['POST'], path: '/login', security: 'usernamePassword', controller: 'loginPost', plugins: [] });
    assert.deepEqual(line('POST', '/sessions/:handle/revoke'), {
      methods: ['POST'],
      path: '/sessions/:handle/revoke',
      security: 'sessionAuth',
      controller: 'revokeOne',
      plugins: ['csrf'],
    });
    assert.equal(line('GET', '/heartbeat')?.controller, 'anonymous');
    // Every route the example app itself compiles is listed, with the same controller, and nothing else.
    const { buildApp } = (await import(new URL('../../examples/login/app.js', import.meta.url).href)) as ExampleApp;
    const table = buildApp({ LOGIN_RATE_LIMIT: '0', SESSION_SECRET: 'a-test-secret-of-at-least-32-characters' }).router.table();
    const listed = rows.flatMap((r) => r.methods.map((m) => [m, r.path, r.controller]));
    assert.deepEqual([...listed].sort(), [...table].sort());
    assert.ok(
      rows.some((r) => r.path === '/assets/*' && r.controller.startsWith('static:')),
      'the static route',
    );

    const lines = formatRoutes(rows).split('\n');
    assert.match(lines[0]!, /^METHOD +PATH +SECURITY +CONTROLLER +PLUGINS$/);
    assert.ok(
      lines.some((l) => /^POST +\/sessions\/:handle\/revoke +sessionAuth +revokeOne +csrf$/.test(l)),
      lines.join('\n'),
    );
    // Aligned: every column starts where its header does.
    const at = lines[0]!.indexOf('SECURITY');
    for (const l of lines.slice(1)) assert.match(l.slice(at - 2, at), /^ {2}$/, l);
  });

  it('lists an App with its global plugins, and its status pages', async () => {
    const module = join(work, 'app.mjs');
    writeFileSync(
      module,
      `import { createApp, requestPlugin, status } from ${JSON.stringify(NOVA)};
       const admin = () => true;
       export const app = createApp({ plugins: [requestPlugin()], routes: [
         { prefix: '/admin', security: admin, routes: [['/users', function users() { return status(200); }, { methods: ['get', 'post'] }]] },
         { routes: [['/any', function any() { return status(200); }], [404, function notFound() { return status(404); }]] },
       ] });`,
    );
    const rows = await loadRoutes({ module });
    assert.deepEqual(rows, [
      { methods: ['GET', 'POST', 'HEAD'], path: '/admin/users', security: 'admin', controller: 'users', plugins: ['request'] },
      {
        methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'CONNECT', 'TRACE', 'PATCH'],
        path: '/any',
        security: 'public',
        controller: 'any',
        plugins: ['request'],
      },
      { methods: [], path: '404', status: 404, security: 'public', controller: 'notFound', plugins: ['request'] },
    ]);
    const table = formatRoutes(rows);
    assert.match(table, /^ANY +\/any +public +any +request$/m);
    assert.match(table, /^STATUS +404 +public +notFound +request$/m);
  });

  it('finds the module from package.json\'s "nova" field, and passes the environment to a routes function', async () => {
    const dir = mkdtempSync(join(work, 'app-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ nova: { routes: 'router.mjs' } }));
    writeFileSync(join(dir, 'router.mjs'), `export default (env) => [{ routes: [['/' + env, function home() {}]] }];`);
    const rows = await loadRoutes({ cwd: dir, environment: 'prod' });
    assert.deepEqual(
      rows.map((r) => [r.path, r.controller]),
      [['/prod', 'home']],
    );
  });

  it('names what it looked for when the module or the export is missing', async () => {
    const dir = mkdtempSync(join(work, 'none-'));
    await assert.rejects(loadRoutes({ cwd: dir }), {
      code: 'NOVA_ERR_CLI_ROUTES_MODULE',
      message: /no package\.json in .*"nova": \{ "routes": "dist\/router\.js" \}/,
    });
    writeFileSync(join(dir, 'package.json'), '{"name":"x"}');
    await assert.rejects(loadRoutes({ cwd: dir }), { code: 'NOVA_ERR_CLI_ROUTES_MODULE', message: /has no "nova": \{ "routes": "<module>" \} field/ });
    await assert.rejects(loadRoutes({ cwd: dir, module: 'dist/router.js' }), {
      code: 'NOVA_ERR_CLI_ROUTES_MODULE',
      message: /dist\/router\.js does not exist \(build the app first/,
    });
    writeFileSync(join(dir, 'other.mjs'), 'export const notRoutes = 1;');
    await assert.rejects(loadRoutes({ cwd: dir, module: 'other.mjs' }), {
      code: 'NOVA_ERR_CLI_ROUTES_MODULE',
      message: /other\.mjs exports no routes: looked for an `app` export .*a `routes` export or a default export/,
    });
    writeFileSync(join(dir, 'needy.mjs'), 'export function routes(env, readiness) { return readiness().groups; }');
    await assert.rejects(loadRoutes({ cwd: dir, module: 'needy.mjs' }), {
      code: 'NOVA_ERR_CLI_ROUTES_MODULE',
      message:
        /the `routes` export of .*needy\.mjs threw when called as routes\("dev"\): .*export a routes\(environment\) function that needs nothing else, or the App/,
    });
  });
});
