/** The in-process transport against the transport conformance suite. */
import { transportSuite } from '../../testing/transport.suite.js';
import { inProcessBus } from './in-process.js';

transportSuite('in-process', async (count) => {
  const bus = inProcessBus();
  return Array.from({ length: count }, () => bus.transport());
});
