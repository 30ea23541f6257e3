/**
 * Accept negotiation for the framework's own error responses. Nova searched the comma-split
 * tokens for 404s but compared the whole header for 500s, so browsers got empty 500 pages; here
 * every status goes through one q-value aware choice between JSON, HTML and plain text.
 */

export type ErrorFormat = 'json' | 'html' | 'plain';

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly index: number;
}

interface Match {
  readonly format: ErrorFormat;
  readonly q: number;
  /** 3 exact type, 2 `type/*`, 1 `*\/*`, 0 no match. */
  readonly specificity: number;
  readonly index: number;
}

/** Tie order when two formats are equally wanted: JSON, then HTML, with plain text the fallback. */
const formats: readonly ErrorFormat[] = ['json', 'html', 'plain'];

/**
 * Pick the error body format for an `Accept` header. No header (or `*\/*` alone) → JSON, as in
 * Nova; otherwise the best q wins, then the more specific range, then JSON/HTML over plain text,
 * then the range listed first. Nothing acceptable → plain text.
 *
 * @example
 * ```ts
 * negotiateErrorFormat(undefined); // 'json'
 * negotiateErrorFormat('text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8'); // 'html'
 * negotiateErrorFormat('image/png'); // 'plain'
 * ```
 */
export function negotiateErrorFormat(accept: string | undefined): ErrorFormat {
  if (accept === undefined || accept.trim() === '') return 'json';
  const ranges = parseAccept(accept);
  const matches = formats.map((format) => bestMatch(format, ranges));
  matches.sort(compare);
  const best = matches[0];
  return best !== undefined && best.q > 0 ? best.format : 'plain';
}

function compare(a: Match, b: Match): number {
  return (
    b.q - a.q ||
    b.specificity - a.specificity ||
    Number(a.format === 'plain') - Number(b.format === 'plain') ||
    a.index - b.index ||
    formats.indexOf(a.format) - formats.indexOf(b.format)
  );
}

/** The most specific range matching the format decides its q (RFC 9110 §12.5.1). */
function bestMatch(format: ErrorFormat, ranges: readonly MediaRange[]): Match {
  let best: Match = { format, q: 0, specificity: 0, index: Number.MAX_SAFE_INTEGER };
  for (const range of ranges) {
    const specificity = specificityFor(format, range);
    if (specificity === 0) continue;
    const better = specificity > best.specificity || (specificity === best.specificity && range.q > best.q);
    if (better) best = { format, q: range.q, specificity, index: range.index };
  }
  return best;
}

function specificityFor(format: ErrorFormat, { type, subtype }: MediaRange): number {
  if (type === '*' && subtype === '*') return 1;
  switch (format) {
    case 'json':
      if (type !== 'application') return 0;
      if (subtype === 'json' || subtype.endsWith('+json')) return 3;
      return subtype === '*' ? 2 : 0;
    case 'html':
      if (type === 'application' && subtype === 'xhtml+xml') return 3;
      if (type !== 'text') return 0;
      if (subtype === 'html') return 3;
      return subtype === '*' ? 2 : 0;
    case 'plain':
      if (type !== 'text') return 0;
      if (subtype === 'plain') return 3;
      return subtype === '*' ? 2 : 0;
  }
}

function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [media = '', ...params] = part.split(';');
    let name = media.trim().toLowerCase();
    // Some old clients send a bare `*`.
    if (name === '*') name = '*/*';
    const slash = name.indexOf('/');
    if (slash <= 0 || slash === name.length - 1 || name.indexOf('/', slash + 1) !== -1) continue;
    ranges.push({ type: name.slice(0, slash), subtype: name.slice(slash + 1), q: qualityOf(params), index: ranges.length });
  }
  return ranges;
}

function qualityOf(params: readonly string[]): number {
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq === -1 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
    const raw = param.slice(eq + 1).trim();
    const q = raw === '' ? Number.NaN : Number(raw);
    // A malformed weight is read as "no preference" rather than as a refusal.
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 1;
  }
  return 1;
}
