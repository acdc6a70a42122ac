// The pino logger factory. Data goes in fields, never interpolated into the message, so
// redaction can see it; fields that could carry credentials or addresses are censored.
import { pino, type Logger, type DestinationStream } from 'pino';
import { PinoPretty } from 'pino-pretty';

export const REDACT_PATHS = [
  'password',
  '*.password',
  'pass',
  '*.pass',
  'auth',
  'recipient',
  'recipients',
  'rcpt',
  'to',
  'from',
  'address',
  '*.recipient',
  '*.address',
  'err.response',
];

export function createLogger(level: string, destination?: DestinationStream, alsoTo?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'mailwarden' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (alsoTo) {
    // the logger's level decides what is written (a reload changes it); the streams take every line it lets through
    return pino(options, pino.multistream([{ stream: destination ?? process.stdout, level: 'trace' }, { stream: alsoTo, level: 'trace' }]));
  }
  return destination ? pino(options, destination) : pino(options);
}

/**
 * Standard output for people at a terminal: one readable, coloured line per record, written
 * synchronously like the JSON it replaces (redaction has happened before it). Files stay JSON.
 */
export function prettyStdout(): DestinationStream {
  return PinoPretty({ colorize: true, sync: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname,service', destination: 1 });
}

export type { Logger };
