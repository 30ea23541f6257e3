// tsc compiles only .ts; templates and other assets are copied beside their compiled modules
// so that code resolving `new URL('./views', import.meta.url)` finds them in dist/ too.
import { cpSync, existsSync } from 'node:fs';

const assetDirs = ['examples/login/views', 'examples/login/public', 'src/views/pages', 'test/fixtures'];
for (const dir of assetDirs) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true });
}
