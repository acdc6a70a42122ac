// Postfix's smtp-sink as a real upstream MTA (Debian package postfix; the daemon is never started).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

// Debian puts it in /usr/sbin, which a non-root PATH often lacks
const SMTP_SINK = ['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink'].find((p) => existsSync(p)) ?? 'smtp-sink';

export interface SinkMessage {
  readonly mailFrom: string;
  readonly rcptTo: string[];
  /** the message as received, LF line ends (smtp-sink writes its dumps with LF) */
  readonly message: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly dir: string;
  messages(): SinkMessage[];
  stop(): Promise<void>;
}

/** extra: smtp-sink options such as ['-f', 'rcpt'] (5xx to RCPT) or ['-W', '.:30'] (silent after the dot). */
export async function startSmtpSink(extra: string[] = []): Promise<SmtpSink> {
  const dir = mkdtempSync(join(tmpdir(), 'mw-sink-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const args = ['-d', `${dir}/%M.`, ...extra, `127.0.0.1:${port}`, '256'];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  const child: ChildProcess = spawn(SMTP_SINK, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`${err.message}: smtp-sink ${args.join(' ')}: ${stderr}`);
  });
  return {
    port,
    dir,
    messages: () =>
      readdirSync(dir)
        .sort()
        .map((f) => parseDump(readFileSync(join(dir, f), 'latin1'))),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function parseDump(dump: string): SinkMessage {
  const lines = dump.split('\n');
  let mailFrom = '';
  const rcptTo: string[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('X-Mail-Args: ')) mailFrom = line.slice(13).split(' ')[0]!.replace(/^<|>$/g, '');
    else if (line.startsWith('X-Rcpt-Args: ')) rcptTo.push(line.slice(13).split(' ')[0]!.replace(/^<|>$/g, ''));
    else if (line.startsWith('Received: ')) break;
  }
  // smtp-sink's own Received: field is three lines; the dump ends with one empty line of its own
  const message = lines.slice(i + 3).join('\n').replace(/\n$/, '');
  return { mailFrom, rcptTo, message };
}
