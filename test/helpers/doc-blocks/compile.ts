// Type-checks documentation code blocks with the TypeScript compiler API, each block in a program
// of its own (a block's `declare module 'nova-ts'` must not leak into the next one), against the
// built package: `import … from 'nova-ts'` resolves through the package's own `exports`, as it
// does for an app, so the repository must be built first.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import type { CodeBlock } from './extract.js';

/** Languages whose blocks are type-checked. */
export const COMPILED_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

export interface CompileOptions {
  /** The repository root: the package whose name the blocks import. */
  root: string;
  /** Where prelude files live (`<name>.ts`). */
  preludeDir: string;
}

/** One problem, already in `file:line: message` terms. */
export interface BlockError {
  where: string;
  message: string;
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  noFallthroughCasesInSwitch: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  noEmit: true,
};

/**
 * Where a block lives, relative to the repository root, while it is checked and when it is run:
 * inside the package (so `import 'nova-ts'` is a self-reference) and under the git-ignored dist/.
 */
export function blockFileName(block: CodeBlock): string {
  const ext = /^(js|javascript|mjs)$/.test(block.lang) ? '.mjs' : '.ts';
  return join(docDir(block.doc), block.markers.file ?? `L${block.line}${ext}`);
}

/** The folder of a document's blocks, relative to the repository root. */
export function docDir(doc: string): string {
  return join('dist', 'doc-blocks', doc.replace(/\.md$/, '').replace(/[^A-Za-z0-9_-]+/g, '_'));
}

/**
 * A prelude is a file `<name>.ts` of global declarations, or a folder `<name>/` of modules put
 * beside the block (for a block that imports a relative path, such as an app's `../app.js`).
 */
export function preludeFolderFiles(preludeDir: string, name: string): { path: string; text: string }[] {
  const dir = join(preludeDir, name);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((path) => statSync(join(dir, path)).isFile())
    .map((path) => ({ path, text: readFileSync(join(dir, path), 'utf8') }));
}

// Every block is made a module: a fragment without an import would otherwise be a script, whose
// declarations are global and whose top-level `await` is refused.
export function blockSource(block: CodeBlock): string {
  return `${block.code}\nexport {};\n`;
}

/**
 * Type-checks the compiled-language blocks and gives every error as `doc:line: message`.
 * Blocks marked `not-compiled` are skipped; a block's preludes join its program as root files.
 *
 * @example
 * const errors = createBlockChecker({ root, preludeDir }).check(blocks);
 * assert.deepEqual(errors, []);
 */
export function createBlockChecker(options: CompileOptions) {
  const sourceCache = new Map<string, ts.SourceFile>();
  let oldProgram: ts.Program | undefined;

  function check(blocks: CodeBlock[]): BlockError[] {
    const virtual = new Map<string, { text: string; block: CodeBlock }>();
    const mounted = new Map<string, { text: string }>();
    for (const block of blocks) {
      if (!COMPILED_LANGS.has(block.lang)) continue;
      virtual.set(join(options.root, blockFileName(block)), { text: blockSource(block), block });
      for (const name of block.markers.prelude) {
        for (const { path, text } of preludeFolderFiles(options.preludeDir, name)) {
          mounted.set(join(options.root, docDir(block.doc), path), { text });
        }
      }
    }
    // An app imports nova-ts somewhere; without that, TypeScript refuses a block holding only a
    // `declare module 'nova-ts'` augmentation ("cannot be found"), which works in any real app.
    const appFile = join(options.root, 'dist', 'doc-blocks', 'app-imports.ts');
    const host = makeHost(new Map([...virtual, ...mounted, [appFile, { text: "import type {} from 'nova-ts';\n" }]]));
    const errors: BlockError[] = [];
    const seen = new Set<string>();
    // Blocks with the same preludes share a program (each stays a module of its own, so their
    // names do not meet); a block that augments a module gets a program of its own, so that its
    // `declare module` reaches no other block.
    const groups = new Map<string, { blocks: string[]; preludes: string[] }>();
    for (const [fileName, { block }] of virtual) {
      if (block.markers.notCompiled !== undefined) continue;
      const unknown = block.markers.prelude.filter(
        (name) => !existsSync(join(options.preludeDir, `${name}.ts`)) && !existsSync(join(options.preludeDir, name)),
      );
      if (unknown.length > 0) {
        errors.push({
          where: `${block.doc}:${block.line}`,
          message: `no prelude named ${unknown.join(', ')} in ${relative(options.root, options.preludeDir)}`,
        });
        continue;
      }
      const preludes = preludeFiles(block, virtual).sort();
      const key = /\bdeclare\s+(module|global)\b/.test(block.code) ? fileName : preludes.join('\0');
      const group = groups.get(key) ?? { blocks: [], preludes };
      group.blocks.push(fileName);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const roots = [...group.blocks, ...group.preludes];
      const program = ts.createProgram({ rootNames: [...roots, appFile], options: COMPILER_OPTIONS, host, ...(oldProgram ? { oldProgram } : {}) });
      oldProgram = program;
      const diagnostics = [
        ...program.getOptionsDiagnostics(),
        ...roots.flatMap((root) => {
          const file = program.getSourceFile(root);
          return file ? [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)] : [];
        }),
      ];
      for (const diagnostic of diagnostics) {
        const error = describe(diagnostic, virtual);
        const key = `${error.where}\0${error.message}`;
        if (!seen.has(key)) errors.push(error);
        seen.add(key);
      }
    }
    return errors;
  }

  // The block's own preludes, and those of the named blocks of its document that it imports.
  function preludeFiles(block: CodeBlock, virtual: Map<string, { text: string; block: CodeBlock }>): string[] {
    const names = new Set(block.markers.prelude);
    for (const other of virtual.values()) {
      const file = other.block.markers.file;
      if (other.block.doc !== block.doc || file === undefined || other.block === block) continue;
      if (block.code.includes(`./${file.replace(/\.ts$/, '.js')}`)) for (const name of other.block.markers.prelude) names.add(name);
    }
    return [...names].filter((name) => preludeFolderFiles(options.preludeDir, name).length === 0).map((name) => join(options.preludeDir, `${name}.ts`));
  }

  function makeHost(virtual: Map<string, { text: string }>): ts.CompilerHost {
    const host = ts.createCompilerHost(COMPILER_OPTIONS, true);
    const isVirtualDir = (dir: string) => [...virtual.keys()].some((file) => file.startsWith(`${dir}/`));
    return {
      ...host,
      fileExists: (file) => virtual.has(file) || host.fileExists(file),
      readFile: (file) => virtual.get(file)?.text ?? host.readFile(file),
      directoryExists: (dir) => isVirtualDir(dir) || (host.directoryExists?.(dir) ?? true),
      getSourceFile(file, languageVersion) {
        const entry = virtual.get(file);
        if (entry) return ts.createSourceFile(file, entry.text, languageVersion, true);
        // Library and package declarations are parsed once for all the programs.
        let source = sourceCache.get(file);
        if (!source) {
          const text = host.readFile(file);
          if (text === undefined) return undefined;
          source = ts.createSourceFile(file, text, languageVersion, true);
          sourceCache.set(file, source);
        }
        return source;
      },
    };
  }

  function describe(diagnostic: ts.Diagnostic, virtual: Map<string, { block: CodeBlock }>): BlockError {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return { where: '(compiler options)', message };
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const entry = virtual.get(diagnostic.file.fileName);
    if (entry) return { where: `${entry.block.doc}:${entry.block.line + 1 + line}`, message };
    return { where: `${relative(options.root, diagnostic.file.fileName)}:${line + 1}`, message };
  }

  return { check };
}
