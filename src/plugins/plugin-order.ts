import type { Plugin } from './plugin.js';

/**
 * Warn when a plugin that reads the parsed body (`needsBody`, e.g. `csrf()` and its `_csrf`
 * field) runs before the plugin that parses it (`readsBody`, e.g. `requestPlugin()`): it would
 * never see the body, and every form post would be refused.
 *
 * A warning, not a refusal: `csrf()` also takes its token from a header, and an app whose
 * scripts send only the header may put `csrf()` first on purpose, to refuse a forged request
 * before spending time reading its body.
 */
export function checkPluginOrder(plugins: readonly Plugin[], warn: (message: string) => void): void {
  plugins.forEach((needer, i) => {
    if (typeof needer.needsBody !== 'string') return;
    const reader = plugins.slice(i + 1).find((p) => p.readsBody === true);
    if (reader === undefined || plugins.slice(0, i).some((p) => p.readsBody === true)) return;
    warn(
      `plugin "${needer.name}" runs before plugin "${reader.name}", which reads the request body: ` +
        `"${needer.name}" cannot see ${needer.needsBody}, so requests that carry it only in the body are refused. ` +
        `Put "${reader.name}" first${needer.name === 'csrf' && reader.name === 'request' ? ' (plugins: [requestPlugin(), csrf()])' : ''}.`,
    );
  });
}
