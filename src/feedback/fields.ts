// Header-field blocks as report parts carry them: message/feedback-report (RFC 5965),
// message/delivery-status and message/global-delivery-status (RFC 3464, RFC 6533). A block
// is "Name: value" lines with folded continuations; blank lines separate groups (the
// per-message group, then one per recipient). CRLF, LF and bare CR all end a line.

/** One group of fields: lower-cased name → every value in order. */
export type FieldGroup = ReadonlyMap<string, readonly string[]>;

export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** Parses a block into groups; lines that are not fields are skipped. */
export function parseFieldGroups(text: string): FieldGroup[] {
  const groups: FieldGroup[] = [];
  let current = new Map<string, string[]>();
  let last: { name: string; index: number } | null = null;
  const close = () => {
    if (current.size > 0) groups.push(current);
    current = new Map();
    last = null;
  };
  for (const line of splitLines(text)) {
    if (line.trim() === '') {
      close();
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (last) {
        const values = current.get(last.name)!;
        values[last.index] = `${values[last.index]} ${line.trim()}`;
      }
      continue;
    }
    const m = /^([!-9;-~]+)[ \t]*:[ \t]*(.*)$/.exec(line);
    if (!m) {
      last = null;
      continue;
    }
    const name = m[1]!.toLowerCase();
    const values = current.get(name) ?? [];
    values.push(m[2]!.trim());
    current.set(name, values);
    last = { name, index: values.length - 1 };
  }
  close();
  return groups;
}

export function first(group: FieldGroup | undefined, name: string): string | null {
  return group?.get(name)?.[0] ?? null;
}

export function all(group: FieldGroup | undefined, name: string): readonly string[] {
  return group?.get(name) ?? [];
}

/** "rfc822; user@example.org" → "user@example.org"; angle brackets and the type removed. */
export function typedAddress(value: string | null): string | null {
  if (value === null) return null;
  const semi = value.indexOf(';');
  const address = (semi >= 0 ? value.slice(semi + 1) : value).trim().replace(/^<(.*)>$/, '$1').trim();
  return address === '' ? null : address;
}

/** "smtp; 550 5.1.1 ..." → { type: 'smtp', text: '550 5.1.1 ...' } */
export function typedText(value: string | null): { type: string | null; text: string } | null {
  if (value === null) return null;
  const m = /^([A-Za-z0-9-]+)[ \t]*;[ \t]*(.*)$/s.exec(value);
  return m ? { type: m[1]!.toLowerCase(), text: m[2]!.trim() } : { type: null, text: value.trim() };
}

/** The first RFC 3463 status code in a text: "5.1.1", "4.7.0". */
export function statusIn(text: string | null): string | null {
  if (!text) return null;
  const m = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(text);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : null;
}
