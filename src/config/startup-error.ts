// A start-up failure an operator fixes in the configuration or on the host: one line that
// names the configuration key, the file or address, and what is wrong. The command prints
// it without a stack and exits with `exitCode`: 78 (EX_CONFIG) for what the configuration or
// the host must change, 69 (EX_UNAVAILABLE) for a service that does not answer.
export class StartupError extends Error {
  readonly code = 'STARTUP_FAILED';
  readonly exitCode: 69 | 78;
  constructor(
    /** the configuration key, such as smtp.tls.cert or store.url */
    readonly key: string,
    message: string,
    options?: { cause?: unknown; unavailable?: boolean },
  ) {
    super(`${key}: ${message}`, options);
    this.name = 'StartupError';
    this.exitCode = options?.unavailable ? 69 : 78;
  }
}

/** "no such file", "permission denied", … for a Node.js system error */
export function systemReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    default:
      return code ?? (err as Error).message;
  }
}
