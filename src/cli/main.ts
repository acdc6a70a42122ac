#!/usr/bin/env node
// The mailwarden command. The only place that reads argv, handles signals and sets the
// process exit code.
import { createInterface } from 'node:readline/promises';
import { configPath, loadConfigFile, ConfigError } from '../config/load.js';
import { hashPassword } from '../tenants/password.js';
import { start } from '../main.js';

const USAGE = `usage: mailwarden <command>

commands:
  serve                      run the relay (config: $MAILWARDEN_CONFIG or config/default.yaml)
  config check [FILE]        validate a configuration file and report every problem
  tenant hash-password       read a password on standard input, print its scrypt hash
                             for tenants[].password
`;

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve();
    case 'config':
      if (sub === 'check') {
        const file = rest[0] ?? configPath(process.env, process.cwd());
        loadConfigFile(file);
        process.stdout.write(`${file}: ok\n`);
        return 0;
      }
      break;
    case 'tenant':
      if (sub === 'hash-password') {
        const password = await readPassword();
        if (!password) {
          process.stderr.write('mailwarden: empty password\n');
          return 2;
        }
        process.stdout.write(`${await hashPassword(password)}\n`);
        return 0;
      }
      break;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
  }
  process.stderr.write(`mailwarden: unknown command "${[command, sub].filter(Boolean).join(' ')}"\n\n${USAGE}`);
  return 2;
}

async function serve(): Promise<number> {
  const { config } = loadConfigFile(configPath(process.env, process.cwd()));
  const app = await start(config);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.log.info({ signal }, 'shutting down');
      app.close().then(
        () => resolve(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

async function readPassword(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  if (process.stdin.isTTY) process.stderr.write('password: ');
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`mailwarden: ${err.message}\n`);
      process.exitCode = 78; // EX_CONFIG
    } else {
      process.stderr.write(`mailwarden: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
