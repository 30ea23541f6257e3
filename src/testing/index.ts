// `nova-ts/testing`: the session store conformance suite, for checking a store of your own.
// It registers node:test suites, so import it from a test file run with `node --test`.
export { sessionStoreConformance, type ConformanceOptions, type StoreHarness } from './session-store.suite.js';
export { transportSuite, type TransportSuiteOptions } from './transport.suite.js';
