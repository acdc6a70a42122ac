import { describe, expect, it } from 'vitest';
import { canonicalLocalPart, parseMailAddress } from '../../src/domain/mailbox.js';
import { TenantKey } from '../../src/crypto/keys.js';

const NFC = 'j\u00f6rg';
const NFD = 'jo\u0308rg';

describe('one identity per mailbox', () => {
  it.each([
    ['Bob@Dest.Example', 'bob@dest.example'],
    ['"bob"@dest.example', 'bob@dest.example'],
    ['"BOB"@dest.example', 'bob@dest.example'],
    ['"b\\ob"@dest.example', 'bob@dest.example'],
    ['"\\B\\o\\b"@DEST.example', 'bob@dest.example'],
    ['"bob.smith+x"@dest.example', 'bob.smith+x@dest.example'],
    ['bOb@xn--dst-sna.example', 'bob@xn--dst-sna.example'],
    ['bob@D\u00e9st.example', 'bob@xn--dst-bma.example'],
    [`${NFC}@b\u00fccher.example`, `${NFC}@xn--bcher-kva.example`],
    [`${NFD}@b\u00fccher.example`, `${NFC}@xn--bcher-kva.example`],
    [`"${NFD}"@B\u00dcCHER.example`, `${NFC}@xn--bcher-kva.example`],
    [`J\u00d6RG@xn--bcher-kva.example`, `${NFC}@xn--bcher-kva.example`],
    // quoted strings that are no dot-atom keep their quotes, minimally escaped
    ['"a b"@x.example', '"a b"@x.example'],
    ['"a\\ b"@x.example', '"a b"@x.example'],
    ['"a..b"@x.example', '"a..b"@x.example'],
    ['"A\\"B"@x.example', '"a\\"b"@x.example'],
    ['"a\\\\b"@x.example', '"a\\\\b"@x.example'],
    ['"a@b"@x.example', '"a@b"@x.example'],
  ])('%j is the mailbox %j', (input, matchForm) => {
    expect(parseMailAddress(input)?.matchForm).toBe(matchForm);
  });

  it('forwards the address as the client sent it, with the domain in A-label form', () => {
    expect(parseMailAddress('"b\\ob"@D\u00e9st.example')).toMatchObject({ address: '"b\\ob"@xn--dst-bma.example', local: 'bob', domain: 'xn--dst-bma.example' });
  });

  it.each(['"unterminated@x.example', '"a"b"@x.example', '"a\\"@x.example', '""@x.example', 'a"b@x.example', 'a\\b@x.example', 'a..b@x.example', '.a@x.example', 'a.@x.example', '"a\u0001"@x.example', 'a(b)@x.example'])('refuses %j', (input) => {
    expect(parseMailAddress(input)).toBeNull();
  });

  it('quotes only what needs it', () => {
    expect(canonicalLocalPart('"x"')).toBe('x');
    expect(canonicalLocalPart('"x y"')).toBe('"x y"');
  });

  it('keeps the pseudonym of every address that was canonical already (values from the code before canonical forms)', () => {
    const key = new TenantKey(Buffer.alloc(32, 7));
    const p = (a: string) => key.pseudonym(parseMailAddress(a)!.matchForm);
    expect(p('Bob@Dest.Example')).toBe('Fe8TWJF9GTGaTEaoP-qBgQ');
    expect(p('alice.smith+tag@example.com')).toBe('sZVjaSK34-gixsd1ugennw');
    expect(p(`${NFC}@b\u00fccher.example`)).toBe('gs_GAoErwNmLibFc6FSOLA');
    expect(p('x@[192.0.2.1]')).toBe('QObLNb5iO-j0P3vkTcgg9g');
    expect(p('info@xn--bcher-kva.example')).toBe('3NARPJ0wMItmIfXQO80SAg');
    // and the other forms of a mailbox now share it
    expect(p('"BOB"@dest.example')).toBe('Fe8TWJF9GTGaTEaoP-qBgQ');
    expect(p(`${NFD}@xn--bcher-kva.example`)).toBe('gs_GAoErwNmLibFc6FSOLA');
  });
});
