import type { Context } from '../context.js';
import type { ControllerResult } from '../results/result.js';

/** A plugin answers the request itself: the chain stops and this result is sent. */
export interface Stop {
  readonly kind: 'stop';
  readonly result: ControllerResult;
}

/** Skip the remaining plugins of this phase and carry on with the request. */
export interface Break {
  readonly kind: 'break';
}

/** `undefined` (or nothing) continues with the next plugin. */
// biome-ignore lint/suspicious/noConfusingVoidType: void, so that a plugin function with no return statement type-checks
export type PluginOutcome = void | undefined | Stop | Break;

/**
 * A pre/post-request plugin (Nova's `nova_plugin` behaviour). Long-lived state lives in the
 * plugin object (usually a closure made by a factory); `init` runs once when the app starts and
 * `stop` when it shuts down.
 *
 * @example
 * ```ts
 * function requestCounter(): Plugin {
 *   let count = 0;
 *   return {
 *     name: 'request-counter',
 *     preRequest: (ctx) => { count += 1; ctx.setHeader('x-request-number', String(count)); },
 *   };
 * }
 * ```
 */
export interface Plugin {
  readonly name: string;
  /**
   * Origins (`scheme://host[:port]`) whose unsafe requests (POST, PUT, …) cross-origin protection
   * lets through on the routes this plugin runs on; read once, when the routes are compiled.
   * `cors()` sets it to the origins it allows.
   */
  readonly trustedOrigins?: readonly string[];
  /** `true` for a plugin that reads and parses the request body (`requestPlugin()`). */
  readonly readsBody?: boolean;
  /**
   * What this plugin reads from the parsed body (`csrf()`: "the _csrf form field"); such a plugin
   * must come after the one that `readsBody`, and the app warns at start-up when it does not.
   */
  readonly needsBody?: string;
  init?(): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** Runs after routing, before the security function. */
  preRequest?(ctx: Context): PluginOutcome | Promise<PluginOutcome>;
  /** Runs after the result handler built `ctx.reply`, before it is written; may adjust it. */
  postRequest?(ctx: Context): PluginOutcome | Promise<PluginOutcome>;
}

/** Answer the request from a plugin (Nova's `{stop, Reply, Req, State}`). */
export function stop(result: ControllerResult): Stop {
  return { kind: 'stop', result };
}

/** Skip the rest of this phase's plugins (Nova's `{break, …}`, which crashes in Nova). */
export function breakChain(): Break {
  return { kind: 'break' };
}

/**
 * Run one phase of a plugin chain; the first `stop` wins, a `break` ends the phase. Hooks that
 * answer synchronously (most pre-request hooks on most requests) cost no promise: the phase only
 * turns asynchronous from the first hook that returns one.
 */
export function runPhase(
  plugins: readonly Plugin[],
  phase: 'preRequest' | 'postRequest',
  ctx: Context,
  from = 0,
): ControllerResult | undefined | Promise<ControllerResult | undefined> {
  for (let i = from; i < plugins.length; i += 1) {
    const plugin = plugins[i]!;
    const outcome = plugin[phase]?.call(plugin, ctx);
    if (outcome instanceof Promise) {
      return outcome.then((o: PluginOutcome) => (o === undefined ? runPhase(plugins, phase, ctx, i + 1) : settle(o)));
    }
    if (outcome !== undefined) return settle(outcome);
  }
  return undefined;
}

function settle(outcome: Stop | Break): ControllerResult | undefined {
  return outcome.kind === 'stop' ? outcome.result : undefined;
}
