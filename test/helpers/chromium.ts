// Debian's Chromium for browser tests, never a downloaded build: .ci/run installs the package.
import { accessSync, constants } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const MISSING = 'Chromium missing: .ci/run installs it with apt-get';
// Root needs --no-sandbox, and without the background-networking flags Chromium's own
// connections are refused by the closed network.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumMissing(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return false;
  } catch {
    return true;
  }
}
