import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../src/core/model.js';
import { isSecretKey, redactJson, redactText } from '../src/core/redact.js';

// Test fixtures assembled at run time so no scanner mistakes this file for a leak.
const gh = 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const ghPat = 'github_pat_' + '11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz';
const ghOauth = 'gho_' + '0123456789abcdefghijABCDEFGHIJklmnop';
const openai = 'sk-' + 'proj-Ab3dEf6hIj9lMn2pQr5tUv8x';
const slack = 'xoxb-' + '1234567890-abcdefghij';
const aws = 'AKIA' + 'IOSFODNN7EXAMPLE';
const awsSession = 'ASIA' + 'Y34FZKBOKMUTVV7A';
const jwt =
  'eyJhbGciOiJIUzI1NiJ9.' +
  'eyJzdWIiOiIxMjM0NTY3ODkwIn0.' +
  'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const csToken = 'cs_' + 'fXt59HlIAl2B3N49iyRqG_WQB7aBGd51JOOyLb3oWuM';
const stripeLive = 'sk_live_' + 'yyaHLN1fP5sMfyc2fsyr4GPl';
const stripeTest = 'sk_test_' + '51HqLyjWDarjtT1zdp7dcXv9EZYvIOtbn0bnXnQbWoyG';
const stripeRestricted = 'rk_live_' + 'ovBAPTWNsZroeMypGyPp0a1b';
const google = 'AIza' + 'SyrxLnSfnPmOFZ5Ej071z0fdL5UkhP7xhGi';
const glpat = 'glpat-' + 'ovBAPTWNsZroeMypGyPp';
const glpatRoutable = 'glpat-' + 'oK9vBAPTWNsZroeMypGyPp3xQ8bM2nLr.01.0w1a2b3c4';
const npm = 'npm_' + 'VAocmPtvzDsQKfZisRpMqC7papQlQBvubaIR';
const azureKey =
  'XAOPoyoDq4XnNlA3keKN0vIFSt9qIMo2vnJF2qz/ARZT3HQ1cAnwJ02JYteztsC5OSd4RsMKhCAtZAclMZ97pw==';
const sasKey = 'rlDy6c+ALIcsTQEFUmuKlhYs6wID2Ys+mwjQCx4tZI4=';
const awsSecret = 'k7Rq2/x9VbN+' + 'Lp4TzW8cYh3mJd6sFa0eGu1iKoQn';
const random32 = 'Mw1hA7JUoXDRC5I91pYVF9ZnBmqPnyQFJPjAd/2Fm6w=';
const random24url = 'KWWQz596JBA5lgQVN1Ka5wy3sNVM_1zu';
const pem = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu',
  'KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm',
  '-----END RSA PRIVATE KEY-----',
].join('\n');

function keeps(text: string): void {
  const r = redactText(text);
  expect(r.text, text).toBe(text);
  expect(r.redactions, text).toEqual({});
}

describe('redactText: each pattern', () => {
  it('redacts email addresses', () => {
    expect(redactText('ask alice.smith+ops@example.co.uk today.')).toEqual({
      text: 'ask [REDACTED:email] today.',
      redactions: { email: 1 },
    });
  });

  it('redacts international, US and European national phone numbers', () => {
    for (const phone of [
      '+1 (415) 555-2671',
      '+44 20 7946 0958',
      '+33 6 12 34 56 78',
      '+4915112345678',
      '(415) 555-2671',
      '415-555-2671',
      '415.555.2671',
      '1-415-555-2671',
      '030 1234567',
      '06 12 34 56 78',
      '020 7946 0958',
      '089/12345678',
    ]) {
      expect(redactText(`call ${phone} now`).text, phone).toBe('call [REDACTED:phone] now');
    }
  });

  it('redacts US social security numbers', () => {
    expect(redactText('SSN 123-45-6789.').text).toBe('SSN [REDACTED:ssn].');
  });

  it('redacts Luhn-valid card numbers with or without separators', () => {
    for (const card of [
      '4111111111111111',
      '4111 1111 1111 1111',
      '5500-0000-0000-0004',
      '378282246310005',
    ]) {
      expect(redactText(`card ${card} on file`).text, card).toBe('card [REDACTED:card] on file');
    }
  });

  it('redacts IBANs, spaced or compact, and keeps an upper-case word after one', () => {
    expect(redactText('to DE89 3704 0044 0532 0130 00 NOW').text).toBe('to [REDACTED:iban] NOW');
    expect(redactText('GB82WEST12345698765432').text).toBe('[REDACTED:iban]');
  });

  it('redacts cloud, forge, chat and model API credentials', () => {
    expect(redactText(`aws ${aws} and ${awsSession}`).redactions).toEqual({ aws_key: 2 });
    expect(redactText(`gh ${gh} ${ghOauth} ${ghPat}`).redactions).toEqual({ github_token: 3 });
    expect(redactText(`key ${openai}`).text).toBe('key [REDACTED:api_key]');
    expect(redactText(`slack ${slack}`).text).toBe('slack [REDACTED:slack_token]');
  });

  it('redacts Countersign API tokens as the kernel mints them', () => {
    expect(redactText(`export COUNTERSIGN_TOKEN=${csToken}`).text).toBe(
      'export COUNTERSIGN_TOKEN=[REDACTED:countersign_token]',
    );
    expect(redactText(`curl -H "Authorization: Bearer ${csToken}"`).redactions).toEqual({
      bearer: 1,
    });
    // compose.ts: `cs_` + 32 random bytes in base64url; the test kernels use 24 bytes.
    for (let i = 0; i < 200; i++) {
      const token = `cs_${randomBytes(i % 2 ? 32 : 24).toString('base64url')}`;
      expect(redactText(`use ${token}.`).text, token).toBe('use [REDACTED:countersign_token].');
    }
  });

  it('redacts Stripe secret and restricted keys, live and test', () => {
    expect(redactText(`STRIPE=${stripeLive} and ${stripeTest}, ${stripeRestricted}.`)).toEqual({
      text: 'STRIPE=[REDACTED:stripe_key] and [REDACTED:stripe_key], [REDACTED:stripe_key].',
      redactions: { stripe_key: 3 },
    });
  });

  it('redacts Google API keys', () => {
    expect(redactText(`maps?key=${google}&q=x`).text).toBe(
      'maps?key=[REDACTED:google_api_key]&q=x',
    );
    expect(redactText(`"${google}"`).text).toBe('"[REDACTED:google_api_key]"');
  });

  it('redacts GitLab access tokens, old and routable format', () => {
    expect(redactText(`PAT ${glpat}.`).text).toBe('PAT [REDACTED:gitlab_token].');
    expect(redactText(`PAT ${glpatRoutable} ok`).text).toBe('PAT [REDACTED:gitlab_token] ok');
  });

  it('redacts npm access tokens', () => {
    expect(redactText(`//registry.npmjs.org/:_authToken=${npm}`).text).toBe(
      '//registry.npmjs.org/:_authToken=[REDACTED:npm_token]',
    );
  });

  it('redacts Azure storage and service-bus keys and SAS signatures, keeping the rest', () => {
    expect(
      redactText(
        `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${azureKey};EndpointSuffix=core.windows.net`,
      ),
    ).toEqual({
      text: 'DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[REDACTED:azure_key];EndpointSuffix=core.windows.net',
      redactions: { azure_key: 1 },
    });
    expect(
      redactText(
        `Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${sasKey}`,
      ).text,
    ).toBe(
      'Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=[REDACTED:azure_key]',
    );
    expect(
      redactText(
        'https://acme.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2026-01-01T00:00:00Z&sig=' +
          'Ab3dEf6hIj9lMn2pQr5tUv8x%2BYz0aB1cD2eF3gH4%3D',
      ).text,
    ).toBe(
      'https://acme.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2026-01-01T00:00:00Z&sig=[REDACTED:azure_key]',
    );
  });

  it('redacts long random-looking base64 and base64url runs', () => {
    for (const secret of [awsSecret, random32, random24url, azureKey]) {
      expect(redactText(`value ${secret} here`).text, secret).toBe(
        'value [REDACTED:high_entropy] here',
      );
    }
    expect(redactText(`{"signing_salt":"${random24url}"}`).text).toBe(
      '{"signing_salt":"[REDACTED:high_entropy]"}',
    );
    // In a link only the random segment goes; the host and path stay readable.
    expect(redactText(`https://docs.example.com/document/d/${random24url}/edit`).text).toBe(
      'https://docs.example.com/document/d/[REDACTED:high_entropy]/edit',
    );
  });

  it('redacts JWTs and bearer tokens', () => {
    expect(redactText(`token ${jwt} expired`).text).toBe('token [REDACTED:jwt] expired');
    expect(redactText('Authorization: Bearer abc123def456ghi789.').text).toBe(
      'Authorization: Bearer [REDACTED:bearer].',
    );
  });

  it('redacts a PEM private key block, and a cut-off one to the end of the text', () => {
    expect(redactText(`key:\n${pem}\ndone`).text).toBe('key:\n[REDACTED:private_key]\ndone');
    expect(redactText(`key:\n${pem.slice(0, 90)}`).text).toBe('key:\n[REDACTED:private_key]');
  });

  it('redacts the value of password and secret assignments, keeping the name', () => {
    expect(redactText('login with password=hunter2 then').text).toBe(
      'login with password=[REDACTED:secret] then',
    );
    expect(redactText('The password=hunter2.').text).toBe('The password=[REDACTED:secret].');
    expect(redactText('DB_PASSWORD: "s3cr3t pass"').text).toBe('DB_PASSWORD: "[REDACTED:secret]"');
    expect(redactText('client_secret = abc, next').text).toBe(
      'client_secret = [REDACTED:secret], next',
    );
    expect(redactText('{"api_key":"abc"}').text).toBe('{"api_key":"[REDACTED:secret]"}');
    expect(redactText('?x=1&token=abc&y=2').text).toBe('?x=1&token=[REDACTED:secret]&y=2');
    expect(redactText('AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI').text).toBe(
      'AWS_SECRET_ACCESS_KEY=[REDACTED:secret]',
    );
    expect(redactText('Authorization: Basic dXNlcjpwYXNz').text).toBe(
      'Authorization: Basic [REDACTED:secret]',
    );
  });

  it('redacts credentials embedded in URLs, keeping scheme, host and path', () => {
    expect(redactText('postgres://admin:pa55@db.internal:5432/app').text).toBe(
      'postgres://[REDACTED:url_credentials]@db.internal:5432/app',
    );
  });

  it('counts one redaction per secret, by the most specific rule', () => {
    const r = redactText(`token=${gh} Authorization: Bearer ${jwt} mail a@b.io, b@c.io`);
    expect(r.redactions).toEqual({ github_token: 1, jwt: 1, email: 2 });
    expect(r.text).toBe(
      'token=[REDACTED:github_token] Authorization: Bearer [REDACTED:jwt] mail [REDACTED:email], [REDACTED:email]',
    );
  });

  it('is idempotent', () => {
    const once = redactText(
      `p=${gh} password=x a@b.io +44 20 7946 0958 ${pem} ${csToken} ${stripeLive} ${google} ` +
        `${glpat} ${npm} AccountKey=${azureKey} ${random32}`,
    ).text;
    expect(redactText(once)).toEqual({ text: once, redactions: {} });
  });
});

describe('redactText: near misses are kept', () => {
  it('keeps dates, times, versions, UUIDs, IPs and ordinary numbers', () => {
    for (const text of [
      'Deploy on 2026-01-15 at 10:30, or 2026-01-15T10:30:00Z, or 01/02/2026 10:30.',
      'Upgrade from v2.1.0 to 10.20.3 (build 2.1.0-rc.1).',
      'Run 550e8400-e29b-41d4-a716-446655440000 and 12345678-1234-1234-1234-123456789012.',
      'Hosts 10.0.0.1, 192.168.100.200 and db-01.internal:5432 are fine.',
      'Resize to 500 GB, 12 replicas, 30 seconds, ticket 4821, port 5432.',
      'Row count 1234567890123 and epoch 1767225600000.',
      'Card-like but Luhn-invalid: 4111 1111 1111 1112.',
      'The bearer of bad news said the secret_name: prod-db and max_tokens: 512.',
      'We use sk-learn and ghp_short tokens in docs.',
      'Contact the on-call engineer before changing the payments table.',
      'Timezone +01:00 and offset 2026-01-15T10:00:00+0100.',
    ]) {
      keeps(text);
    }
  });

  it('keeps look-alikes of the named token formats', () => {
    for (const text of [
      'The cs_change_control_window_policy setting and cs_short.',
      'The sk_live_short and rk_test_ prefixes are not keys.',
      'AIzaTooShort and npm_install_dependencies_for_the_whole_workspace ran.',
      'The glpat- prefix alone, glpat-short, and AccountKey=; are fine.',
    ]) {
      keeps(text);
    }
  });

  it('keeps hashes, IDs, identifiers, paths and links that the product shows', () => {
    for (const text of [
      // Call and ledger hashes (sha256 hex), also named and upper-cased, and a commit ID.
      'Approved hash 87c029cafdd53a4bb4e17aef8b49ba20918261a2858a58f9421e01c3c8d4fea5.',
      'prev_hash sha256:b1b050c9b0137fe8ce7fb01a11977886c6573f97392d87cedc2543a3c7da7545',
      'Digest 0E35DE7D849666397101A9AB23EBFB1066EADA44982648754B425136B3375CEE and commit 6eece09a1c31e47489811edd003d1e36910e9fd3',
      'Run run_aa465c6095a2b949b370, proposal_12 and request 550e8400-e29b-41d4-a716-446655440000.',
      // Digests in base64, named as such (Subresource Integrity, package-lock integrity).
      'integrity sha512-z6dx5tSXw2TzPzVvE6Le8VRbbvyzcUa4Kqu8zi1xZbmTXAdTAtGEGkJAG3jrJ0b7EgDcDuhhYhVYGfmW6ywjKg==',
      'digest sha256:Mw1hA7JUoXDRC5I91pYVF9ZnBmqPnyQFJPjAd/2Fm6w=',
      // Identifiers and constants, however long.
      'Call getProposalVersionWithApprovedHashAndPolicy2 or COMPRESSED_SRGB8_ALPHA8_ASTC_10x10_KHR.',
      'See _grpc_channelz_v1_ChannelConnectivityState_State__Output and Uint8ClampedArrayConstructor.',
      // Paths and links.
      'Edit console/src/components/RedactedJsonViewer2 and test/fixtures/temporal-histories/Seed002.',
      'Read https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Uint8ClampedArray',
      'and https://github.com/WebKit/WebKit/blob/6eece09a1c31e47489811edd003d1e36910e9fd3/Source/WebCore/css/CSSProperties.json',
      'and https://www.w3.org/TR/2018/CR-css-flexbox-1-20181119/ today.',
      // Ordinary prose with long words.
      'Pneumonoultramicroscopicsilicovolcanoconiosis and Supercalifragilisticexpialidocious2024 are words.',
    ]) {
      keeps(text);
    }
  });
});

describe('redactText: adversarial input', () => {
  // Each input once made a rule backtrack quadratically; a regression hangs past the test timeout.
  it('scans large inputs built to trigger backtracking', () => {
    const n = 100_000;
    for (const text of [
      'a.'.repeat(n) + '@',
      'Bearer ' + 'a.'.repeat(n),
      'a-'.repeat(n),
      'sk-'.repeat(n),
      'eyJa-'.repeat(n),
      'password="'.repeat(n / 4),
      'http://'.repeat(n),
      'DE89 '.repeat(n),
      'cs_'.repeat(n),
      'aB3/'.repeat(n),
      'aB3'.repeat(n) + '===',
      'AccountKey='.repeat(n / 4),
      'glpat-' + 'a.'.repeat(n),
    ]) {
      expect(redactText(text).text.length).toBeGreaterThan(0);
    }
  });
});

describe('redactJson', () => {
  it('redacts strings at any depth and values under secret-named keys', () => {
    const input: JsonObject = {
      summary: 'Customer bob@example.com asked',
      nested: {
        list: ['+1 415 555 2671', 'plain', 3],
        Api_Key: 'abc',
        'client-secret': 'def',
        credentials: { user: 'u', pass: 'p' },
        SSN: 123456789,
        accessToken: 'xyz',
        aws_secret_access_key: 'K',
        has_password: true,
        password_hint: null,
        token: '',
        max_tokens: 512,
        secret_name: 'prod-db',
      },
    };
    const before = structuredClone(input);
    const { value, redactions } = redactJson(input);
    expect(value).toEqual({
      summary: 'Customer [REDACTED:email] asked',
      nested: {
        list: ['[REDACTED:phone]', 'plain', 3],
        Api_Key: '[REDACTED:secret]',
        'client-secret': '[REDACTED:secret]',
        credentials: '[REDACTED:secret]',
        SSN: '[REDACTED:secret]',
        accessToken: '[REDACTED:secret]',
        aws_secret_access_key: '[REDACTED:secret]',
        has_password: true,
        password_hint: null,
        token: '',
        max_tokens: 512,
        secret_name: 'prod-db',
      },
    });
    expect(redactions).toEqual({ email: 1, phone: 1, secret: 6 });
    expect(input).toEqual(before);
  });

  it('redacts keys too, keeping colliding keys apart', () => {
    const { value, redactions } = redactJson({ 'a@x.io': 1, 'b@x.io': 2 });
    expect(value).toEqual({ '[REDACTED:email]': 1, '[REDACTED:email]#2': 2 });
    expect(redactions).toEqual({ email: 2 });
    const parsed = JSON.parse('{"__proto__": {"token": "t"}}') as JsonObject;
    const out = redactJson(parsed).value;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });

  it('keeps scalars and is idempotent', () => {
    expect(redactJson(null)).toEqual({ value: null, redactions: {} });
    expect(redactJson(42)).toEqual({ value: 42, redactions: {} });
    const once = redactJson({ password: 'x', note: 'mail a@b.io' }).value;
    expect(redactJson(once)).toEqual({ value: once, redactions: {} });
  });

  it('recognises secret key names regardless of case, _ and -', () => {
    for (const k of ['password', 'PASSWD', 'x-api-key', 'apiKey', 'private_key', 'Authorization']) {
      expect(isSecretKey(k), k).toBe(true);
    }
    for (const k of [
      'tokens',
      'prompt_tokens',
      'secret_name',
      'access_key_id',
      'idempotency_key',
    ]) {
      expect(isSecretKey(k), k).toBe(false);
    }
  });
});
