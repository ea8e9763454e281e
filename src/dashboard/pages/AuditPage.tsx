/** The audit log, newest first, a page at a time: who did what to what, and the before and after. */
import { useState } from 'preact/hooks';
import type { AuditEntryView } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { DataTable, type Column } from '../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { formatTime } from '../format.ts';
import { useResource } from '../hooks.ts';

const PAGE = 50;

function Change({ entry }: { readonly entry: AuditEntryView }) {
  if (entry.before === null && entry.after === null) return <span class="muted">–</span>;
  return (
    <details class="change">
      <summary>before / after</summary>
      <div class="change-body">
        <div>
          <span class="muted small">before</span>
          <pre>{JSON.stringify(entry.before, null, 2)}</pre>
        </div>
        <div>
          <span class="muted small">after</span>
          <pre>{JSON.stringify(entry.after, null, 2)}</pre>
        </div>
      </div>
    </details>
  );
}

const columns: readonly Column<AuditEntryView>[] = [
  { key: 'at', label: 'When', primary: true, render: (e) => formatTime(e.atMs) },
  { key: 'actor', label: 'Who', render: (e) => e.actor },
  { key: 'action', label: 'What', render: (e) => <code>{e.action}</code> },
  { key: 'target', label: 'Target', render: (e) => e.target },
  { key: 'change', label: 'Change', render: (e) => <Change entry={e} /> },
];

export function AuditPage() {
  // The pages seen so far, as the beforeSeq that asked for each (undefined: the newest).
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const page = useResource(`audit:${before ?? 'newest'}`, (signal) => endpoints.audit({ beforeSeq: before, limit: PAGE }, signal));
  return (
    <section>
      <div class="page-head">
        <h1>Audit log</h1>
        <button type="button" class="secondary small" onClick={() => (cursors.length > 1 ? setCursors([undefined]) : page.reload())}>
          {cursors.length > 1 ? 'Newest' : 'Refresh'}
        </button>
      </div>
      {page.error ? <ErrorNotice error={page.error} what="The audit log could not be loaded" /> : null}
      {!page.data ? (
        page.error ? null : <Loading what="the audit log" />
      ) : (
        <>
          <DataTable
            testId="audit-table"
            columns={columns}
            rows={page.data.rows}
            rowKey={(e) => String(e.seq)}
            empty={<EmptyState title="Nothing in the audit log yet">Every change an operator, the CLI or the server makes to the fleet (keys, approvals, revocations, operators) is recorded here.</EmptyState>}
          />
          {cursors.length === 1 && page.data.nextBeforeSeq === null ? null : (
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <span>page {cursors.length}</span>
            <button type="button" disabled={page.data.nextBeforeSeq === null} onClick={() => setCursors([...cursors, page.data!.nextBeforeSeq!])}>
              Older →
            </button>
          </nav>
          )}
        </>
      )}
    </section>
  );
}
