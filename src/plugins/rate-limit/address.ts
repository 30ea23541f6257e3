/**
 * The client address as a rate-limit key. An IPv4 address is itself (also when Node reports it
 * IPv4-mapped, `::ffff:192.0.2.1`); an IPv6 address counts as its network, `/64` by default:
 * one subscriber usually gets a whole /64 (or more), so per-address keys would give one client
 * 2^64 fresh quotas.
 *
 * @example
 * ```ts
 * addressKey('2001:db8:1:2:aaaa::1', 64); // '2001:db8:1:2::/64'
 * addressKey('::ffff:192.0.2.1', 64);     // '192.0.2.1'
 * ```
 */
export function addressKey(address: string, ipv6Prefix: number): string {
  if (!address.includes(':')) return address;
  const lower = address.toLowerCase().split('%', 1)[0]!;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (mapped) return mapped[1]!;
  const groups = expand(lower);
  if (groups === undefined) return lower; // not an address we can read: counted as written
  let bits = ipv6Prefix;
  const masked = groups.map((group) => {
    const keep = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${compress(masked)}/${ipv6Prefix}`;
}

/** The eight 16-bit groups of an IPv6 address, or undefined if it is not one. */
function expand(address: string): number[] | undefined {
  let text = address;
  // An IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    if ([a, b, c, d].some((n) => n > 255)) return undefined;
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return all.map((g) => parseInt(g, 16));
}

/** RFC 5952 form: the longest run of zero groups (two or more) becomes `::`. */
function compress(groups: number[]): string {
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}
