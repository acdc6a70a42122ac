// The trace header field mailwarden prepends to every relayed message (RFC 5321 section
// 4.4). It names no recipient: a "for <address>" clause would put an address into every
// copy and into any report that quotes the headers.

export interface TraceInfo {
  readonly helo: string;
  readonly clientHostname: string;
  readonly clientAddress: string;
  readonly byName: string;
  readonly id: string;
  readonly secure: boolean;
  readonly authenticated: boolean;
  readonly smtpUtf8: boolean;
  readonly date: Date;
}

export function receivedHeader(t: TraceInfo): string {
  // RFC 3848 / RFC 6531 protocol names
  const protocol = `${t.smtpUtf8 ? 'UTF8SMTP' : 'ESMTP'}${t.secure ? 'S' : ''}${t.authenticated ? 'A' : ''}`;
  const address = t.clientAddress.replace(/^::ffff:/, '');
  const literal = address.includes(':') ? `IPv6:${address}` : address;
  return (
    `Received: from ${clean(t.helo) || 'unknown'} (${clean(t.clientHostname) || 'unknown'} [${literal}])\r\n` +
    `\tby ${clean(t.byName)} (mailwarden) with ${protocol} id ${clean(t.id)};\r\n` +
    `\t${rfc5322Date(t.date)}\r\n`
  );
}

/** Only characters that are safe inside a header comment or token. */
function clean(value: string): string {
  return value.replace(/[^\x21-\x7e]/g, '').replace(/[()\\[\];]/g, '').slice(0, 255);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function rfc5322Date(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}
