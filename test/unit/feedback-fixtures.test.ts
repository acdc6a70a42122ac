// The parser over real reports (test/fixtures/feedback, from the sisimai corpus), compared
// with what the reference parser reads from them (expected.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/feedback/parse.js';
import { FeedbackRules } from '../../src/feedback/classify.js';

const DIR = join(import.meta.dirname, '../fixtures/feedback');

type Expected =
  | { kind: 'complaint'; feedbackTypes: string[] }
  | { kind: 'bounce'; recipients: Array<{ status: string; hardBounce: boolean }> };

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;
const rules = FeedbackRules.load();
const files = Object.keys(expected);

describe('feedback parser on real reports', () => {
  it('has every fixture', () => {
    expect(files.length).toBeGreaterThanOrEqual(37);
  });

  it.each(files.filter((f) => expected[f]!.kind === 'complaint'))('%s: the feedback types, exactly', async (file) => {
    const want = expected[file] as Extract<Expected, { kind: 'complaint' }>;
    const report = await parseReport(readFileSync(join(DIR, file)));
    expect(report.kind).toBe('complaint');
    expect(report.complaints.map((c) => c.feedbackType)).toEqual(want.feedbackTypes);
  });

  it.each(files.filter((f) => expected[f]!.kind === 'bounce'))('%s: every standard status code', async (file) => {
    const want = expected[file] as Extract<Expected, { kind: 'bounce' }>;
    const report = await parseReport(readFileSync(join(DIR, file)));
    expect(report.kind).toBe('bounce');
    const got = report.bounces.map((b) => b.status);
    for (const { status } of want.recipients) {
      const [klass, subject, detail] = status.split('.').map(Number) as [number, number, number];
      // a detail of 900 or more is the reference parser's own inference: only the class counts
      if (detail >= 900) expect(got.some((s) => s?.startsWith(`${klass}.`))).toBe(true);
      else expect(got).toContain(`${klass}.${subject}.${detail}`);
    }
  });

  it('agrees with the reference on hard bounces for at least 90% of recipients', async () => {
    let agree = 0;
    let total = 0;
    const differences: string[] = [];
    for (const file of files) {
      const want = expected[file]!;
      if (want.kind !== 'bounce') continue;
      const report = await parseReport(readFileSync(join(DIR, file)));
      want.recipients.forEach((r, i) => {
        const b = report.bounces[i];
        // a recipient the parser did not find is not suppressed
        const hard = b ? rules.bounce(b).verdict === 'hard' : false;
        total++;
        if (hard === r.hardBounce) agree++;
        else differences.push(`${file}#${i + 1}: reference ${r.hardBounce ? 'hard' : 'not hard'}, mailwarden ${b ? rules.bounce(b).rule : 'no recipient'}`);
      });
    }
    const share = agree / total;
    console.log(`hard-bounce verdicts agreeing with the reference: ${agree}/${total} = ${(share * 100).toFixed(1)}%${differences.length ? `\n  ${differences.join('\n  ')}` : ''}`);
    expect(share).toBeGreaterThanOrEqual(0.9);
    // every difference is one the rule file explains
    const explained = readFileSync(new URL('../../config/feedback-rules.yaml', import.meta.url), 'utf8');
    for (const d of differences) expect(explained).toContain(d.split('#')[0]!.replace('.eml', ''));
  });

  it('reads the reported message: its Message-ID, and a recipient unless redacted', async () => {
    const yahoo = await parseReport(readFileSync(join(DIR, 'arf-02.eml')));
    expect(yahoo.original?.messageId).toBe('<000000000000000000000000.smtp@example.com>');
    expect(yahoo.complaints[0]!.recipients).toEqual(['this-local-part-does-not-exist-on-yahoo@yahoo.com']);
    const redacted = await parseReport(readFileSync(join(DIR, 'arf-01.eml')));
    expect(redacted.complaints[0]).toMatchObject({ redacted: true, recipients: [] });
    const hotmail = await parseReport(readFileSync(join(DIR, 'arf-22.eml')));
    expect(hotmail.complaints[0]).toMatchObject({ feedbackType: 'abuse', variant: 'hotmail-forward', recipients: ['kijitora@example.com'] });
    expect(hotmail.original?.messageId).toBe('<0000000000fffffffff0000000000000@example.com>');
  });

  it('reads the same report with LF, CRLF and bare CR line endings alike', async () => {
    for (const file of ['arf-14.eml', 'lhost-postfix-02.eml', 'rfc3464-06.eml']) {
      const lf = readFileSync(join(DIR, file), 'latin1').replace(/\r\n|\r/g, '\n');
      const variants = [lf, lf.replace(/\n/g, '\r\n'), lf.replace(/\n/g, '\r')].map((t) => Buffer.from(t, 'latin1'));
      const [a, b, c] = await Promise.all(variants.map((v) => parseReport(v)));
      expect(a!.kind).not.toBe('unknown');
      expect(b).toEqual(a);
      expect(c).toEqual(a);
    }
  });
});
