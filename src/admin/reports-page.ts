// A page of kept complaint and bounce reports, newest first, as the admin API and the CLI
// list them: `before` the next cursor of the page before; `open` only the review records
// not yet assigned or dismissed, read on past the decided ones until the page is full.
import type { FeedbackRecord, FeedbackScope } from '../domain/feedback.js';
import type { Store } from '../store/ports.js';

export async function reportsPage(store: Pick<Store, 'listFeedbackReports'>, scope: FeedbackScope, q: { limit: number; before?: string | undefined; open?: boolean }): Promise<{ list: FeedbackRecord[]; next: string | null }> {
  const list: FeedbackRecord[] = [];
  let before = q.before;
  for (;;) {
    const batch = await store.listFeedbackReports(scope, { limit: q.limit, ...(before !== undefined ? { before } : {}) });
    for (const r of batch) {
      if (q.open && r.resolution) continue;
      list.push(r);
      if (list.length === q.limit) return { list, next: r.id };
    }
    if (batch.length < q.limit) return { list, next: null };
    before = batch.at(-1)!.id;
  }
}
