// The path-escape tricks the escape matrix tries on every protocol and backend: each is a path as
// a client would send it, aimed at a canary the user must never reach (outside the home, in a
// sibling's home, in a virtual folder's parent, or a denied folder or name inside the home).
// Canary files hold text starting with CANARY- and are named canary-*, so any answer carrying
// either (other than an error echoing the path) is an escape.

/** Text every canary's content starts with; file contents the user can reach never hold it. */
export const CANARY_MARK = 'CANARY-';

export interface Trick {
  /** What the trick is, for the report. */
  name: string;
  /** The path as the client sends it (relative ones start at the home root). */
  path: string;
  /** Only where the backend can hold symlinks made beside the server (local disk, sshd's side). */
  needsLinks?: boolean;
  /** One of the short list run on the slower backends (one of each family). */
  lite?: boolean;
}

/** The climbs in the short list: one of each way of writing "..". */
const LITE_CLIMBS = new Set(['relative ..', 'rooted ..', 'many ..', 'backslashes', '%2e%2e/', '..%2f', 'double %252e%252e%252f',
  'overlong %c0%ae%c0%ae/', 'NUL after the name', 'fullwidth ．．／', '....//', '..;/']);

/** Where the canaries sit, relative to the user's home (`up` parent levels, then `rest`). */
const OUTSIDE = [
  { label: 'outside the home', up: 1, rest: 'canary-out.txt' },
  { label: 'two levels up', up: 2, rest: 'canary-top.txt' },
  { label: "a sibling's home", up: 1, rest: 'sibling/canary-sib.txt' },
];

/** The same climb written every way a parser might take as "..". */
function climbs(up: number, rest: string): { name: string; path: string }[] {
  const rep = (seg: string, sep = '/'): string => `${seg}${sep}`.repeat(up);
  const restBs = rest.replaceAll('/', '\\');
  return [
    { name: 'relative ..', path: `${rep('..')}${rest}` },
    { name: 'rooted ..', path: `/${rep('..')}${rest}` },
    { name: '.. after a dir', path: `/a/../${rep('..')}${rest}` },
    { name: '.. after ./', path: `./${rep('..')}${rest}` },
    { name: 'many ..', path: `/${'../'.repeat(up + 6)}${rest}` },
    { name: 'doubled slashes', path: `//${rep('..', '//')}${rest}` },
    { name: 'trailing /.', path: `/${rep('..')}${rest}/.` },
    { name: 'backslashes', path: `${rep('..', '\\')}${restBs}` },
    { name: 'rooted backslashes', path: `\\${rep('..', '\\')}${restBs}` },
    { name: 'mixed slashes', path: `/..\\${rep('..')}${rest}` },
    { name: '%2e%2e/', path: `/${rep('%2e%2e')}${rest}` },
    { name: '%2e%2e%2f', path: `/${rep('%2e%2e', '%2f')}${rest}` },
    { name: '..%2f', path: `/${rep('..', '%2f')}${rest}` },
    { name: 'mixed case %2e%2E', path: `/${rep('%2e%2E')}${rest}` },
    { name: '.%2e/', path: `/${rep('.%2e')}${rest}` },
    { name: '..%5c', path: `/${rep('..', '%5c')}${rest}` },
    { name: 'double %252e%252e%252f', path: `/${rep('%252e%252e', '%252f')}${rest}` },
    { name: 'double %252E%252e/', path: `/${rep('%252E%252e')}${rest}` },
    { name: 'overlong %c0%ae%c0%ae/', path: `/${rep('%c0%ae%c0%ae')}${rest}` },
    { name: 'overlong ..%c0%af', path: `/${rep('..', '%c0%af')}${rest}` },
    { name: 'overlong 3-byte %e0%80%ae', path: `/${rep('%e0%80%ae%e0%80%ae')}${rest}` },
    { name: 'NUL after the name', path: `/${rep('..')}${rest}\0.txt` },
    { name: '%00 after the name', path: `/${rep('..')}${rest}%00.txt` },
    { name: 'fullwidth ．．／', path: `/${rep('\uFF0E\uFF0E', '\uFF0F')}${rest}` },
    { name: 'fullwidth ．．/', path: `/${rep('\uFF0E\uFF0E')}${rest}` },
    { name: 'two dot leader ‥/', path: `/${rep('\u2025')}${rest}` },
    { name: 'small full stops ﹒﹒/', path: `/${rep('\uFE52\uFE52')}${rest}` },
    { name: '....//', path: `/${rep('....', '//')}${rest}` },
    { name: '..././', path: `/${rep('...', '/./')}${rest}` },
    { name: '..;/', path: `/${rep('..;')}${rest}` },
    { name: '.;./', path: `/${rep('.;.')}${rest}` },
    { name: '..%3b/', path: `/${rep('..%3b')}${rest}` },
  ];
}

/** Every trick for one backend kind. `home` is the backend's absolute path of the home, for absolute tries. */
export function escapeTricks(opts: { homeAbs: string }): Trick[] {
  const tricks: Trick[] = [];
  for (const t of OUTSIDE) {
    for (const c of climbs(t.up, t.rest)) {
      const lite = t.up === 1 && (t.rest.startsWith('sibling') ? c.name === 'relative ..' : LITE_CLIMBS.has(c.name));
      tricks.push({ name: `${t.label}: ${c.name}`, path: c.path, lite });
    }
  }
  const parentAbs = opts.homeAbs.replace(/\/[^/]+\/?$/, '');
  tricks.push(
    { name: 'absolute path of the canary', path: `${parentAbs}/canary-out.txt`, lite: true },
    { name: 'absolute path after ..', path: `/../../../../../..${parentAbs}/canary-out.txt`, lite: true },
    { name: "absolute path of the sibling's canary", path: `${parentAbs}/sibling/canary-sib.txt` },
    { name: 'file: URL', path: `file://${parentAbs}/canary-out.txt` },
    // A virtual folder's parent: /vf is mapped to <dir>/vfparent/vf, the canary is in vfparent.
    { name: "virtual folder's parent: ..", path: '/vf/../../canary-vfp.txt', lite: true },
    { name: "virtual folder's parent: rooted", path: '/vf/../canary-vfp.txt' },
    { name: "virtual folder's parent: %2e%2e", path: '/vf/%2e%2e/canary-vfp.txt', lite: true },
    { name: "virtual folder's parent: backslash", path: '/vf/..\\canary-vfp.txt' },
    { name: "virtual folder's parent: ....//", path: '/vf/....//canary-vfp.txt' },
    { name: "virtual folder's parent: fullwidth", path: '/vf/\uFF0E\uFF0E/canary-vfp.txt', lite: true },
    // A folder the permissions deny, and a name the file patterns hide (deny_policy 1), inside the home.
    { name: 'denied folder', path: '/private/canary-priv.txt', lite: true },
    { name: 'denied folder, upper case', path: '/PRIVATE/canary-priv.txt', lite: true },
    { name: 'denied folder, mixed case', path: '/Private/canary-priv.txt' },
    { name: 'denied folder, doubled slash', path: '//private//canary-priv.txt' },
    { name: 'denied folder via ..', path: '/x/../private/canary-priv.txt', lite: true },
    { name: 'denied folder via ./', path: '/./private/./canary-priv.txt' },
    { name: 'denied folder, %2f', path: '/private%2fcanary-priv.txt', lite: true },
    { name: 'denied folder, backslash', path: '/private\\canary-priv.txt' },
    { name: 'denied folder, ;', path: '/private;/canary-priv.txt' },
    { name: 'denied folder, trailing dot', path: '/private./canary-priv.txt' },
    { name: 'denied folder, trailing space', path: '/private /canary-priv.txt' },
    { name: 'denied folder, %70rivate', path: '/%70rivate/canary-priv.txt' },
    { name: 'denied folder, fullwidth', path: '/\uFF50rivate/canary-priv.txt' },
    { name: 'denied NFC folder', path: '/priv\u00e9/canary-nfc.txt' },
    { name: 'denied NFC folder as NFD', path: '/prive\u0301/canary-nfc.txt', lite: true },
    { name: 'denied pattern', path: '/secret.key', lite: true },
    { name: 'denied pattern, upper case', path: '/secret.KEY', lite: true },
    { name: 'denied pattern, mixed case', path: '/SECRET.Key' },
    { name: 'denied pattern, trailing dot', path: '/secret.key.', lite: true },
    { name: 'denied pattern, trailing slash', path: '/secret.key/' },
    { name: 'denied pattern, ;', path: '/secret.key;' },
    { name: 'denied pattern, %65', path: '/secret.k%65y', lite: true },
    { name: 'denied pattern, ./', path: '/./secret.key' },
    { name: 'denied pattern, //', path: '//secret.key' },
    { name: 'denied pattern, NUL', path: '/secret.key\0', lite: true },
    { name: 'denied pattern, trailing space', path: '/secret.key ' },
    { name: 'denied pattern, fullwidth dot', path: '/secret\uFF0Ekey' },
    // Symlinks made on the backend itself, beside the server.
    { name: 'symlink to a file outside', path: '/link-out', needsLinks: true, lite: true },
    { name: 'symlink to the parent, then a file', path: '/link-up/canary-out.txt', needsLinks: true, lite: true },
    { name: "symlink to the parent, then a sibling's file", path: '/link-up/sibling/canary-sib.txt', needsLinks: true, lite: true },
    { name: 'symlink to the parent itself', path: '/link-up', needsLinks: true, lite: true },
    { name: 'absolute symlink', path: '/link-abs', needsLinks: true, lite: true },
    { name: 'symlink in a subdirectory', path: '/sub/link-deep/canary-out.txt', needsLinks: true, lite: true },
    { name: 'symlink in a virtual folder to its parent', path: '/vf/up/canary-vfp.txt', lite: true },
    { name: 'symlink in a virtual folder, itself', path: '/vf/up', lite: true },
  );
  return tricks;
}

/** Tricks aimed out of a share of `/shared` at `/share-outside.txt` in the owner's home. */
export function shareTricks(): Trick[] {
  const out: Trick[] = [];
  for (const c of climbs(1, 'share-outside.txt')) out.push({ name: `out of the share: ${c.name}`, path: c.path, lite: LITE_CLIMBS.has(c.name) });
  for (const c of climbs(3, 'canary-out.txt')) out.push({ name: `out of the home: ${c.name}`, path: c.path, lite: c.name === 'rooted ..' });
  out.push({ name: 'out of the share: the private folder', path: '../private/canary-priv.txt', lite: true }, { name: 'out of the share: the pattern', path: '../secret.key', lite: true });
  return out;
}

/** Percent-encodes what a request line cannot carry raw (controls, space, non-ASCII, '#', '?'); the rest goes as written. */
export function wirePath(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte <= 0x20 || byte >= 0x7f || ch === '#' || ch === '?' ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : ch;
  }
  return out;
}

/** As wirePath, for a query parameter value ('&', '+' and '=' encoded too). */
export function wireQuery(path: string): string {
  return wirePath(path).replaceAll('&', '%26').replaceAll('+', '%2B').replaceAll('=', '%3D');
}
