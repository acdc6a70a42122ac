// Small pieces every page uses: a request's state, an error in words, a pager.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  readonly data: T | null;
  readonly error: string | null;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` when `deps` change (and on reload()); its result or its error in words. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (err: unknown) => live && setState({ data: null, error: messageOf(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.problems.length > 0 ? `${err.message}` : err.message;
  return err instanceof Error ? err.message : String(err);
}

export function ErrorText({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

/** Previous / next over pages the API cuts with a cursor; `cursors` are the pages seen so far. */
export function Pager({ page, hasNext, onPage }: { page: number; hasNext: boolean; onPage: (page: number) => void }) {
  if (page === 0 && !hasNext) return null;
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>
        ← Previous
      </button>
      <span aria-live="polite">page {page + 1}</span>
      <button type="button" disabled={!hasNext} onClick={() => onPage(page + 1)}>
        Next →
      </button>
    </nav>
  );
}

/** A page of a cursor-paged list: `fetchPage(cursor)` gives the items and the next cursor. */
export function useCursorPages<T>(fetchPage: (cursor: string | null) => Promise<{ items: T[]; next: string | null }>, deps: unknown[]) {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState(0);
  useEffect(() => {
    setCursors([null]);
    setPage(0);
  }, deps);
  const loaded = useLoad(() => fetchPage(cursors[page] ?? null), [...deps, page, cursors[page]]);
  const onPage = (p: number) => {
    if (p > page && loaded.data?.next) setCursors((c) => [...c.slice(0, p), loaded.data!.next]);
    setPage(p);
  };
  return { ...loaded, page, onPage, hasNext: Boolean(loaded.data?.next) };
}

/**
 * A form's submit handler that runs `action` with the form's fields, and the error it
 * ended with, in words (null while none); `action` resolving clears it.
 */
export function useFormAction(action: (fields: FormData, form: HTMLFormElement) => Promise<void>): [(e: Event) => Promise<void>, string | null] {
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    try {
      await action(new FormData(form), form);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return [submit, error];
}

/** a form field's text, trimmed; absent is '' */
export const field = (fields: FormData, name: string) => String(fields.get(name) ?? '').trim();
