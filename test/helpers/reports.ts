// Complaint and bounce reports as mailbox providers send them, built around a relayed copy.
export const CRLF = '\r\n';

/** An ARF report (RFC 5965) about `copy`, as a mailbox provider sends it; the recipient redacted. */
export function arf(copy: Buffer | string, options: { feedbackType?: string; rcpt?: string; boundary?: string } = {}): string {
  const b = options.boundary ?? 'arf-boundary-1';
  const redactedCopy = copy.toString('latin1').replace(/^To: .*$/m, 'To: redacted@example.org');
  return [
    'From: fbl@provider.example',
    'To: fbl@relay.test',
    'Subject: FW: complaint',
    `Message-ID: <${Math.random().toString(36).slice(2)}@provider.example>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is an email abuse report.',
    '',
    `--${b}`,
    'Content-Type: message/feedback-report',
    '',
    `Feedback-Type: ${options.feedbackType ?? 'abuse'}`,
    'User-Agent: ProviderFBL/1.0',
    'Version: 1',
    'Source-IP: 192.0.2.1',
    ...(options.rcpt ? [`Original-Rcpt-To: ${options.rcpt}`] : ['Redacted-Address: redacted']),
    '',
    `--${b}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    redactedCopy.replace(/\r\n$/, ''),
    `--${b}--`,
    '',
  ].join(CRLF);
}

/** A DSN (RFC 3464) about `copy`, with only its header fields enclosed. */
export function dsn(copy: Buffer, recipient: string, status: string, diagnostic: string): string {
  const headers = copy.toString('latin1').split('\r\n\r\n')[0]!;
  return [
    'From: MAILER-DAEMON@mx.example.org',
    'To: bounces@relay.test',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-b"',
    '',
    '--dsn-b',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '',
    '--dsn-b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.org',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    `Status: ${status}`,
    `Diagnostic-Code: smtp; ${diagnostic}`,
    '',
    '--dsn-b',
    'Content-Type: text/rfc822-headers',
    '',
    headers,
    '',
    '--dsn-b--',
    '',
  ].join(CRLF);
}

