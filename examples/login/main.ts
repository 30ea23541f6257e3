import { closeOnSignals } from 'nova-ts';
import { buildApp } from './app.js';

try {
  const app = buildApp();
  await app.listen();
  closeOnSignals(app);
  console.info(`nova-ts example listening on ${app.config.tls ? 'https' : 'http'}://${app.config.host}:${app.config.port}`);
} catch (err) {
  // A start-up problem (bad environment, port taken) deserves one clear line, not a stack trace.
  console.error(`nova-ts example could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
