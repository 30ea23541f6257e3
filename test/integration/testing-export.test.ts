// The conformance suite as a user imports it: by package name, through package.json "exports".
import { memoryStore } from 'nova-ts';
import { sessionStoreConformance } from 'nova-ts/testing';

sessionStoreConformance('memory store, via nova-ts/testing', () => memoryStore());
