// Finds the fenced code blocks of a Markdown file and the `<!-- key: value -->` markers written
// on the lines just above each one (see docs/writing-docs.md for the conventions).

/** What a marker may say about the block under it. */
export interface BlockMarkers {
  /** Prelude names: declarations from test/docs/preludes/<name>.ts the block may use. */
  prelude: string[];
  /** Why the block is not compiled; set only when it is explicitly excluded. */
  notCompiled?: string;
  /** A file name: other blocks of the same document may import it (`./name.js`). */
  file?: string;
  /** Run the block: `node` for a program, `bash` for a shell block; with `probes`, a server. */
  run: boolean;
  /** The standard output a run must print (compared trimmed). */
  output?: string;
  /** Requests to send to the server the block starts, each with the status it must answer. */
  probes: Probe[];
}

/** `GET /heartbeat 200`: a request to the started app and the status it must answer. */
export interface Probe {
  method: string;
  path: string;
  status: number;
}

export interface CodeBlock {
  /** The document, relative to the repository root (`docs/sessions.md`). */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, lower-cased (`ts`, `sh`, `` for none). */
  lang: string;
  /** The code, with the fence's indentation removed. */
  code: string;
  markers: BlockMarkers;
}

/** A marker that could not be read: an unknown key, a missing value. */
export interface MarkerProblem {
  doc: string;
  line: number;
  message: string;
}

const KEYS = new Set(['prelude', 'not-compiled', 'file', 'run', 'output', 'probe']);
const PROBE = /^([A-Z]+)\s+(\/\S*)\s+(\d{3})$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;
const MARKER = /^\s*<!--\s*([a-z-]+)\s*(?::\s*([\s\S]*?))?\s*-->\s*$/;

/**
 * Splits a Markdown text into its fenced blocks, each with the markers above it.
 *
 * @example
 * const { blocks, problems } = extractBlocks('docs/x.md', '<!-- run -->\n```ts\nconsole.log(1);\n```\n');
 * blocks[0]?.markers.run; // true
 */
export function extractBlocks(doc: string, text: string): { blocks: CodeBlock[]; problems: MarkerProblem[] } {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  const problems: MarkerProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      const trimmed = line.trimStart();
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === '') break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    const markers = readMarkers(doc, lines, i, problems);
    blocks.push({ doc, line: i + 1, lang: info.toLowerCase(), code: body.join('\n'), markers });
    i = j;
  }
  return { blocks, problems };
}

// Markers are the HTML comments on the lines right above the fence (no blank line between).
function readMarkers(doc: string, lines: string[], fenceIndex: number, problems: MarkerProblem[]): BlockMarkers {
  const markers: BlockMarkers = { prelude: [], run: false, probes: [] };
  for (let k = fenceIndex - 1; k >= 0; k--) {
    const match = MARKER.exec(lines[k]!);
    if (!match) break;
    const key = match[1]!;
    const value = match[2]?.trim() ?? '';
    const problem = (message: string) => problems.push({ doc, line: k + 1, message });
    if (!KEYS.has(key)) {
      problem(`unknown marker "${key}": use one of ${[...KEYS].join(', ')}`);
      continue;
    }
    if (key === 'run') {
      if (value !== '') problem('"run" takes no value: put the expected output in <!-- output: … -->');
      markers.run = true;
    } else if (value === '') {
      problem(`marker "${key}" needs a value: <!-- ${key}: … -->`);
    } else if (key === 'prelude') {
      markers.prelude.push(
        ...value
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean),
      );
    } else if (key === 'not-compiled') {
      markers.notCompiled = value;
    } else if (key === 'file') {
      markers.file = value;
    } else if (key === 'probe') {
      markers.run = true; // a block that is probed is run, as a server
      for (const probe of value.split(',').map((part) => part.trim())) {
        const match = PROBE.exec(probe);
        if (match) markers.probes.push({ method: match[1]!, path: match[2]!, status: Number(match[3]) });
        else problem(`probe "${probe}" is not "METHOD /path STATUS" (for example GET /heartbeat 200)`);
      }
    } else {
      markers.output = value;
    }
  }
  return markers;
}
