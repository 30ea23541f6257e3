// The app: configuration and routes together. Tests build their own with `buildApp(env)`.
import { createApp, type App } from 'nova-ts';
import { config } from './config.js';
import { routes } from './router.js';

/** Build the app from an environment (default: the process's). */
export function buildApp(env: NodeJS.ProcessEnv = process.env): App {
  return createApp({ ...config(env), routes });
}
