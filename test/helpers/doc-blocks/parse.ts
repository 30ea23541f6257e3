// Blocks that are not programs but still have a syntax to get right: JSON, and Liquid templates
// (the `html` blocks of the docs are the framework's views).
import { Liquid } from 'liquidjs';
import type { BlockError } from './compile.js';
import type { CodeBlock } from './extract.js';

/** Languages `parseBlock` checks. */
export const PARSED_LANGS = new Set(['json', 'html', 'liquid']);

/**
 * Parses a JSON or Liquid block; gives its syntax error, if any, at the block's line.
 *
 * @example
 * parseBlock({ doc: 'docs/x.md', line: 3, lang: 'json', code: '{ "a": 1 }', markers }); // []
 */
export function parseBlock(block: CodeBlock): BlockError[] {
  const where = `${block.doc}:${block.line}`;
  try {
    if (block.lang === 'json') JSON.parse(block.code);
    else new Liquid().parse(block.code);
    return [];
  } catch (err) {
    return [{ where, message: `${block.lang} does not parse: ${(err as Error).message}` }];
  }
}
