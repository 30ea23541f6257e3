#!/usr/bin/env node
// The `nova-ts` executable (package.json "bin"). Everything else is in cli.ts, which tests call.
import { runCli } from './cli.js';

// Exit as soon as the command is done: a routes module may open handles (timers, connections)
// that would keep the process alive. Writes to pipes and files are synchronous on POSIX.
process.exit(await runCli(process.argv.slice(2)));
