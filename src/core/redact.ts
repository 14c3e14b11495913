import type { JsonObject, JsonValue } from './model.js';

/**
 * Redaction of secrets and personal data before text leaves the process (e.g. to a model
 * provider). Each match becomes `[REDACTED:<kind>]`; `redactions` counts matches per kind.
 * Rules run top to bottom, so a token inside a URL or an assignment is counted once, by the
 * more specific rule.
 *
 * | kind            | matches                                           | kept on purpose            |
 * | --------------- | ------------------------------------------------- | -------------------------- |
 * | private_key     | PEM `-----BEGIN … PRIVATE KEY-----` blocks (to the | public keys, certificates  |
 * |                 | END line, or to the end of a cut-off text)        |                            |
 * | url_credentials | the `user:pass` in `scheme://user:pass@host`      | scheme, host, path         |
 * | jwt             | `eyJ…`.`…`.`…` (three base64url segments)         |                            |
 * | bearer          | the token in `Bearer <token>`                     | tokens without a digit     |
 * |                 |                                                   | shorter than 20 ("Bearer   |
 * |                 |                                                   | of bad news")              |
 * | aws_key         | AWS access key IDs `AKIA…` / `ASIA…`              |                            |
 * | github_token    | `ghp_ gho_ ghu_ ghs_ ghr_` + 30+ chars,           |                            |
 * |                 | `github_pat_…`                                    |                            |
 * | api_key         | `sk-…` keys (OpenAI, Anthropic…): 20+ chars, at   | `sk-learn`                 |
 * |                 | least one digit                                   |                            |
 * | slack_token     | `xoxa- xoxb- xoxp- xoxr- xoxs-` tokens            |                            |
 * | countersign_    | Countersign API tokens `cs_` + 16+ base64url      | `cs_` + snake_case words   |
 * |   token         | chars with two of upper case, lower case, digits  |                            |
 * | stripe_key      | `sk_live_ sk_test_ rk_live_ rk_test_` + 16+ chars | `pk_…` (publishable; a     |
 * |                 |                                                   | long one is high_entropy)  |
 * | google_api_key  | `AIza` + 35 chars (39 in all)                     |                            |
 * | gitlab_token    | `glpat- gldt- glrt- glptt-` + 20+ chars           |                            |
 * | npm_token       | `npm_` + 36 letters and digits                    |                            |
 * | azure_key       | the value of `AccountKey=` / `SharedAccessKey=`   | the key name               |
 * |                 | in connection strings; a SAS `sig=` value         |                            |
 * | secret          | the value in `password=…`, `db_secret: …`,        | the name; `secret_name: x` |
 * |                 | `"api_key": "…"`; JSON values under secret keys   | and `max_tokens: 5`        |
 * | email           | `local@domain.tld`                                | `user@localhost`           |
 * | iban            | IBANs, spaced or not, ISO 13616 mod-97 checked    | look-alike codes           |
 * | card            | 13–19 digits, spaces/dashes allowed, first digit  | Luhn failures, epoch ms    |
 * |                 | 2–6, Luhn checked                                 |                            |
 * | ssn             | US SSN `123-45-6789` (valid area/group/serial)    | undashed 9-digit numbers   |
 * | phone           | `+CC …` (8–15 digits); US `(555) 123-4567`,       | plain integers, ISO dates, |
 * |                 | `555-123-4567`, `555.123.4567`; national `0…`     | versions, times, UUIDs     |
 * |                 | groups (`030 1234567`, `06 12 34 56 78`)          |                            |
 * | high_entropy    | a run of 32+ base64/base64url characters that     | hex of any case (hashes,   |
 * |                 | looks random: upper and lower case and a digit,   | commit IDs, run IDs),      |
 * |                 | class changes on at least 45% of its characters,  | UUIDs, identifiers and     |
 * |                 | Shannon entropy of at least 3.9 bits a character  | paths, `sha256-…` digests  |
 *
 * The high-entropy rule is the net behind the named formats, for secrets nobody wrote a rule
 * for (a cloud key, a signing secret, a session cookie). What it keeps is deliberate:
 * - Hex is never redacted by it, whatever its length or case. The product itself shows hex
 *   (call hashes, ledger hashes, `run_…` IDs, commit IDs) and a model or reviewer must be able
 *   to quote them back; a hex secret is still caught when it is labelled (`api_key=…`).
 * - A digest named as one (`sha256:…`, `sha512-…`, as in Subresource Integrity) is kept.
 * - Identifiers and paths are kept: they change character class rarely (`getUserById2`,
 *   `COMPRESSED_SRGB8_ALPHA8`), while random base64 changes class on about 64% of characters.
 *   A run with a `/`-separated lower-case word in it (`com/…`, `src/…`) is a path or a URL,
 *   and only its segments are judged, so a random 32+ character segment (a capability ID in
 *   a link) is still redacted.
 * Measured on random keys it catches 97% of 24-byte and 99% of 32-byte ones; on 42 MB of
 * package READMEs and type definitions it took only base64 blobs (inline images, unnamed
 * digests, document IDs in links) and one build sentinel with a hex tail.
 *
 * IP addresses and host names are left alone: operational changes name hosts legitimately.
 * JSON numbers are left alone unless they sit under a secret key.
 */

export type Redactions = Record<string, number>;

const mark = (kind: string): string => `[REDACTED:${kind}]`;
const MARK = /^\[REDACTED:[a-z_]+\]$/;

/**
 * Returns the replacement, or null to keep the match as it is. `before` is the text just before
 * the match (a few characters).
 */
type Replacer = (
  match: string,
  groups: readonly (string | undefined)[],
  before: string,
) => string | null;

interface Rule {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly replace?: Replacer;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function ibanValid(compact: string): boolean {
  if (compact.length < 15 || compact.length > 34) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) rest = (rest * 10 + Number(digit)) % 97;
  }
  return rest === 1;
}

const digitsOf = (s: string): string => s.replace(/\D/g, '');

/** Secret names in free-text assignments; the name must end right before `=` or `:`. */
const SECRET_NAME =
  'password|passwd|passphrase|pwd|secret|secret[_-]?key|token|api[_-]?key|private[_-]?key|' +
  'access[_-]?key|credentials?|authorization|ssn';

const RULES: readonly Rule[] = [
  {
    kind: 'private_key',
    pattern:
      /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g,
  },
  {
    kind: 'url_credentials',
    pattern: /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@:]+:[^\s/?#@]*@/gi,
    replace: (_m, [scheme]) => `${scheme}${mark('url_credentials')}@`,
  },
  { kind: 'jwt', pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g },
  {
    kind: 'bearer',
    pattern: /\b(Bearer\s+)([A-Za-z0-9._~+/-]+=*)/gi,
    replace: (_m, [prefix, token = '']) => {
      const core = token.replace(/\.+$/, '');
      const looksLikeToken = core.length >= 8 && (/\d/.test(core) || core.length >= 20);
      return looksLikeToken ? `${prefix}${mark('bearer')}${token.slice(core.length)}` : null;
    },
  },
  { kind: 'aws_key', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  {
    kind: 'github_token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})\b/g,
  },
  { kind: 'api_key', pattern: /(?<![\w-])sk-(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}/g },
  { kind: 'slack_token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g },
  {
    // The kernel mints `cs_` + 32 random bytes in base64url (43 characters) and accepts 16 to
    // 128; random base64url of that length always mixes character classes, words do not.
    kind: 'countersign_token',
    pattern: /(?<![\w-])cs_[A-Za-z0-9_-]{16,}/g,
    replace: (m) => (classCount(m.slice(3)) >= 2 ? mark('countersign_token') : null),
  },
  { kind: 'stripe_key', pattern: /(?<![\w-])[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { kind: 'google_api_key', pattern: /(?<![\w-])AIza[A-Za-z0-9_-]{35}(?![\w-])/g },
  {
    // Newer GitLab tokens end in `.<version>.<checksum>`.
    kind: 'gitlab_token',
    pattern: /(?<![\w-])gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+){0,2}/g,
  },
  { kind: 'npm_token', pattern: /(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])/g },
  {
    kind: 'azure_key',
    pattern:
      /(?<![A-Za-z0-9])((?:Account|SharedAccess)Key[ \t]*=[ \t]*|(?<=[?&;])sig=)([A-Za-z0-9+/%]{16,}(?:=|%3D){0,2})/gi,
    replace: (_m, [name]) => `${name}${mark('azure_key')}`,
  },
  {
    kind: 'secret',
    pattern: new RegExp(
      `(?<![\\w-])([A-Za-z0-9_-]*?(?:${SECRET_NAME}))(["']?[ \\t]*[:=][ \\t]*)` +
        `((?:(?:Basic|Bearer|Digest|Token)[ \\t]+)?)("[^"\\n]{0,1000}"|'[^'\\n]{0,1000}'|[^\\s,;&"'<>]+)`,
      'gi',
    ),
    replace: (_m, [name, sep, scheme, value = '']) => {
      const quote = value.startsWith('"') || value.startsWith("'") ? value.charAt(0) : '';
      // An unquoted value keeps the full stop that ends its sentence.
      const inner = quote ? value.slice(1, -1) : value.replace(/\.+$/, '');
      if (inner === '' || inner.startsWith('[REDACTED:')) return null;
      const tail = quote || value.slice(inner.length);
      return `${name}${sep}${scheme}${quote}${mark('secret')}${tail}`;
    },
  },
  {
    kind: 'email',
    pattern:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g,
  },
  {
    kind: 'iban',
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g,
    // The match may run into a following upper-case word; drop trailing words until it checks.
    replace: (m) => {
      let candidate = m;
      for (;;) {
        if (ibanValid(candidate.replace(/ /g, ''))) {
          return mark('iban') + m.slice(candidate.length);
        }
        const cut = candidate.lastIndexOf(' ');
        if (cut < 0) return null;
        candidate = candidate.slice(0, cut);
      }
    },
  },
  {
    kind: 'card',
    pattern: /(?<![\w+-])[2-6]\d(?:[ -]?\d){11,17}(?!\w|-\d)/g,
    replace: (m) => {
      const digits = digitsOf(m);
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? mark('card') : null;
    },
  },
  {
    kind: 'ssn',
    pattern: /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\w|-\d)/g,
  },
  {
    kind: 'phone',
    pattern: /(?<![\w+])\+\d[\d .()-]{6,22}\d(?!\w)/g,
    replace: (m) => {
      const n = digitsOf(m).length;
      return n >= 8 && n <= 15 && !/[.-]{2}| {2}/.test(m) ? mark('phone') : null;
    },
  },
  {
    kind: 'phone',
    pattern: /(?<![\w.+-])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w:]|[.-]\d)/g,
  },
  {
    kind: 'phone',
    pattern: /(?<![\w.+/:-])0\d{1,4}[ /-]\d{2,8}(?:[ -]\d{2,8}){0,3}(?![\w:]|[./-]\d)/g,
    replace: (m) => {
      const n = digitsOf(m).length;
      return n >= 9 && n <= 12 ? mark('phone') : null;
    },
  },
  {
    kind: 'high_entropy',
    pattern: /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/=_-])/g,
    replace: (m, _groups, before) => {
      if (/(?:sha(?:1|224|256|384|512)|md5)[:=]$/i.test(before)) return null;
      const run = m.replace(/=+$/, '');
      if (/^(?:sha(?:1|224|256|384|512)|md5)-/i.test(run)) return null;
      const segments = run.split('/');
      if (segments.some((s) => s.length >= 3 && /^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/.test(s))) {
        // A path or a URL: judge each segment alone.
        let hit = false;
        const out = segments.map((s) => {
          if (!looksRandom(s)) return s;
          hit = true;
          return mark('high_entropy');
        });
        return hit ? out.join('/') + m.slice(run.length) : null;
      }
      return looksRandom(run) ? mark('high_entropy') : null;
    },
  },
];

/** How many of upper case, lower case and digits `s` has. */
function classCount(s: string): number {
  return Number(/[A-Z]/.test(s)) + Number(/[a-z]/.test(s)) + Number(/\d/.test(s));
}

/** Shannon entropy of the characters of `s`, in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

const charClass = (code: number): number =>
  code >= 97 && code <= 122 ? 0 : code >= 65 && code <= 90 ? 1 : code >= 48 && code <= 57 ? 2 : 3;

/** A secret-like run: see `high_entropy` in the table above. */
function looksRandom(s: string): boolean {
  if (s.length < 32 || /^(?:0x)?[0-9a-f]+$/i.test(s)) return false;
  if (!/[a-z]/.test(s) || !/\d/.test(s) || (s.match(/[A-Z]/g) ?? []).length < 2) return false;
  let changes = 0;
  for (let i = 1; i < s.length; i++)
    if (charClass(s.charCodeAt(i)) !== charClass(s.charCodeAt(i - 1))) changes++;
  return changes / (s.length - 1) >= 0.45 && entropy(s) >= 3.9;
}

function redactInto(text: string, counts: Redactions): string {
  let out = text;
  for (const rule of RULES) {
    out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      // `rest` is the capture groups, then the offset and the whole string.
      const groups = rest.slice(0, -2) as (string | undefined)[];
      const offset = rest.at(-2) as number;
      const before = (rest.at(-1) as string).slice(Math.max(0, offset - 8), offset);
      const replacement = rule.replace ? rule.replace(match, groups, before) : mark(rule.kind);
      if (replacement === null) return match;
      counts[rule.kind] = (counts[rule.kind] ?? 0) + 1;
      return replacement;
    });
  }
  return out;
}

/**
 * Replaces secrets and personal data in free text.
 *
 * @example
 * redactText('mail bob@example.com, password=hunter2')
 * // { text: 'mail [REDACTED:email], password=[REDACTED:secret]',
 * //   redactions: { secret: 1, email: 1 } }
 */
export function redactText(text: string): { text: string; redactions: Redactions } {
  const redactions: Redactions = {};
  return { text: redactInto(text, redactions), redactions };
}

/** Keys whose values are secrets whatever they look like (compared lower-case, without `_`/`-`). */
const SECRET_KEY =
  /(?:password|passwd|passphrase|secret|secretkey|token|apikey|authorization|privatekey|accesskey|credentials?|ssn)$/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[_-]/g, ''));
}

function redactValue(value: JsonValue, counts: Redactions): JsonValue {
  if (typeof value === 'string') return redactInto(value, counts);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, counts));
  if (value === null || typeof value !== 'object') return value;
  const entries: [string, JsonValue][] = [];
  const seen = new Set<string>();
  for (const [key, v] of Object.entries(value)) {
    const redactedKey = redactInto(key, counts);
    let outKey = redactedKey;
    // Two keys redacted to the same marker must both survive.
    for (let n = 2; seen.has(outKey); n++) outKey = `${redactedKey}#${n}`;
    seen.add(outKey);
    entries.push([outKey, isSecretKey(key) ? redactSecret(v, counts) : redactValue(v, counts)]);
  }
  // fromEntries defines own properties, so a `__proto__` key stays data.
  return Object.fromEntries<JsonValue>(entries);
}

/** A value under a secret key: anything but null, booleans, '' and markers is replaced. */
function redactSecret(value: JsonValue, counts: Redactions): JsonValue {
  if (value === null || typeof value === 'boolean' || value === '') return value;
  if (typeof value === 'string' && MARK.test(value)) return value;
  counts.secret = (counts.secret ?? 0) + 1;
  return mark('secret');
}

/**
 * Redacts every string (values and keys) in a JSON value, and replaces values under keys that
 * name a secret (`password`, `db_password`, `apiKey`, `Authorization`, `client-secret`, …).
 * Returns a new value; the input is not changed.
 *
 * @example
 * redactJson({ user: { email: 'a@b.io', api_key: 'x' } })
 * // { value: { user: { email: '[REDACTED:email]', api_key: '[REDACTED:secret]' } },
 * //   redactions: { email: 1, secret: 1 } }
 */
export function redactJson(value: JsonObject): { value: JsonObject; redactions: Redactions };
export function redactJson(value: JsonValue): { value: JsonValue; redactions: Redactions };
export function redactJson(value: JsonValue): { value: JsonValue; redactions: Redactions } {
  const redactions: Redactions = {};
  return { value: redactValue(value, redactions), redactions };
}

/** What a declared exception may reveal: contact details, never a secret, card or ID number. */
const REVEALABLE = new Set(['email', 'phone']);

/**
 * Like redactJson, but the strings at `reveal` (dot-separated paths of object keys, e.g.
 * `intake.requested_by`) are left as they are when all they hold is contact details (an email
 * address, a phone number): a declared exception, for a fact an agent must copy into what it
 * writes (who asked for a change). A string that also holds anything else (a secret, a card
 * number) is redacted as usual, and so is a path that is not there or not a string; `revealed`
 * lists the paths that were left as they are, and `redactions` counts only what was hidden.
 *
 * @example
 * redactJsonExcept({ intake: { requested_by: 'a@b.io', note: 'c@d.io' } }, ['intake.requested_by'])
 * // { value: { intake: { requested_by: 'a@b.io', note: '[REDACTED:email]' } },
 * //   redactions: { email: 1 }, revealed: ['intake.requested_by'] }
 */
export function redactJsonExcept(
  value: JsonObject,
  reveal: readonly string[],
): { value: JsonObject; redactions: Redactions; revealed: string[] } {
  const redactions: Redactions = {};
  const revealed: string[] = [];
  const out = redactValue(value, redactions) as JsonObject;
  for (const path of reveal) {
    const keys = path.split('.');
    const original = valueAt(value, keys);
    if (typeof original !== 'string' || isSecretKey(keys[keys.length - 1] ?? '')) continue;
    const { text, redactions: inside } = redactText(original);
    const kinds = Object.keys(inside);
    if (kinds.length === 0 || !kinds.every((k) => REVEALABLE.has(k))) continue;
    if (valueAt(out, keys) !== text || !putAt(out, keys, original)) continue;
    for (const k of kinds) redactions[k] = (redactions[k] ?? 0) - (inside[k] ?? 0);
    revealed.push(path);
  }
  for (const k of Object.keys(redactions)) if (redactions[k] === 0) delete redactions[k];
  return { value: out, redactions, revealed };
}

function valueAt(value: JsonValue, keys: readonly string[]): JsonValue | undefined {
  let at: JsonValue | undefined = value;
  for (const key of keys) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, key))
      return undefined;
    at = at[key];
  }
  return at;
}

/** Sets the value at `keys` in a copy made by redactValue (its objects are its own). */
function putAt(value: JsonObject, keys: readonly string[], v: JsonValue): boolean {
  const parent = valueAt(value, keys.slice(0, -1));
  const last = keys[keys.length - 1];
  if (last === undefined || parent === null || typeof parent !== 'object' || Array.isArray(parent))
    return false;
  (parent as Record<string, JsonValue>)[last] = v;
  return true;
}
