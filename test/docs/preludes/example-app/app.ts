// Prelude "example-app": the `app.ts` a testing guide's test imports as `../app.js`, here the
// example login app's own `buildApp` (built into dist/examples), so the guide's test really runs.
export { buildApp } from '../../examples/login/app.js';
