// SQL blocks run against a real PostgreSQL, each inside a transaction that is rolled back, so a
// block's CREATE TABLE or INSERT leaves nothing behind.
import pg from 'pg';
import type { BlockError } from './compile.js';
import type { CodeBlock } from './extract.js';

/** Languages `checkSqlBlocks` runs. */
export const SQL_LANGS = new Set(['sql', 'postgresql', 'psql']);

/**
 * Runs each SQL block in a rolled-back transaction; gives each failure at the Markdown line of the
 * statement PostgreSQL names.
 *
 * @example
 * const errors = await checkSqlBlocks(blocks, 'postgres://postgres@127.0.0.1:5432/test');
 */
export async function checkSqlBlocks(blocks: CodeBlock[], url: string): Promise<BlockError[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const errors: BlockError[] = [];
  try {
    for (const block of blocks) {
      await client.query('BEGIN');
      try {
        await client.query(block.code);
      } catch (err) {
        const position = Number((err as { position?: string }).position ?? 1);
        const line = block.code.slice(0, position - 1).split('\n').length;
        errors.push({ where: `${block.doc}:${block.line + line}`, message: `PostgreSQL: ${(err as Error).message}` });
      } finally {
        await client.query('ROLLBACK');
      }
    }
  } finally {
    await client.end();
  }
  return errors;
}
