// Keeping addresses out of texts that are shown and logged. Parsing and the canonical form
// of an address are a domain rule: src/domain/mailbox.ts.

const ADDRESS_IN_TEXT = /<?[^\s<>@"]+@[^\s<>@"]+>?/g;

/** Replaces anything that looks like an address, so upstream texts can be shown and logged. */
export function redactAddresses(text: string): string {
  return text.replace(ADDRESS_IN_TEXT, '<address>');
}
