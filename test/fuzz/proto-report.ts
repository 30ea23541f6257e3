// Preloaded (`node --import`) into the server processes the fuzz suite attacks: on exit it prints
// whether Object.prototype gained anything while the process ran, so pollution in the SERVER
// process — not the test's — is what gets checked, for apps with no route to ask.
const before = new Set(Reflect.ownKeys(Object.prototype));

/** Keys Object.prototype has now and did not have when the process started. */
export function prototypeAdditions(): string[] {
  return Reflect.ownKeys(Object.prototype)
    .filter((k) => !before.has(k))
    .map(String);
}

process.on('exit', () => {
  const probe = {} as Record<string, unknown>;
  const report = { added: prototypeAdditions(), enumerable: Object.keys(Object.prototype).length, polluted: probe.polluted !== undefined };
  process.stderr.write(`PROTOTYPE-REPORT ${JSON.stringify(report)}\n`);
});
