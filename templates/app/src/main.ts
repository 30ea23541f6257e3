// `npm start`: build the app, listen, and close cleanly on SIGINT/SIGTERM.
import { closeOnSignals } from 'nova-ts';
import { buildApp } from './app.js';

try {
  const app = buildApp();
  await app.listen();
  closeOnSignals(app);
  console.info(`__APP_NAME__ listening on http://${app.config.host}:${app.config.port}`);
} catch (err) {
  // A start-up problem (a bad variable, a port taken) deserves one clear line, not a stack trace.
  console.error(`__APP_NAME__ could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
