/**
 * `nova-ts/testing`: a test client (`inject`, `agent`) that runs requests through an app without a
 * socket, and the conformance suites for checking a session store or transport of your own. The
 * suites register node:test suites, so import them from a test file run with `node --test`.
 *
 * @module nova-ts/testing
 */
export { inject, type InjectRequest, type InjectResponse, type InjectCookie } from './inject.js';
export { agent, type Agent, type AgentRequest } from './agent.js';
export { sessionStoreConformance, type ConformanceOptions, type StoreHarness } from './session-store.suite.js';
export { transportSuite, type TransportSuiteOptions } from './transport.suite.js';
