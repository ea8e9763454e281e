/**
 * The clearinghouse: usage per domain and the settlement between domains for the calls that
 * ended in a period (UTC days, both included), from the records the clearinghouse rated, with
 * those records as a CSV download. The period lives in the address (?from=&to=&domain=) so that
 * a report can be shared. Without the clearinghouse's store the server says how to connect it.
 */
import type { DomainUsage, SettlementRow } from '../../core/fleet/api-calls.ts';
import { endpoints } from '../api/endpoints.ts';
import { DataTable, type Column } from '../components/DataTable.tsx';
import { valueOf } from '../components/Form.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { formatBytes, formatCount, formatDuration } from '../format.ts';
import { useResource } from '../hooks.ts';
import { navigate, pathWithQuery, type Route } from '../router.ts';
import { useSession } from '../session.ts';
import { dayStartMs, formatMoney, thisMonth } from './calls/words.ts';

const DAY_MS = 86_400_000;

const usageColumns: readonly Column<DomainUsage>[] = [
  { key: 'domain', label: 'Domain', primary: true, render: (u) => <strong>{u.domain}</strong> },
  { key: 'calls', label: 'Calls', numeric: true, render: (u) => formatCount(u.calls) },
  { key: 'billable', label: 'Billable', numeric: true, render: (u) => formatDuration(u.billableS * 1000) },
  { key: 'packets', label: 'Packets', numeric: true, render: (u) => formatCount(u.packets) },
  { key: 'bytes', label: 'Bytes', numeric: true, render: (u) => formatBytes(u.bytes) },
  { key: 'rated', label: 'Its calls rated', numeric: true, render: (u) => (u.amounts.length === 0 ? <span class="muted">–</span> : u.amounts.map((a) => formatMoney(a.amount, a.currency)).join(' · ')) },
];

const settlementColumns: readonly Column<SettlementRow>[] = [
  { key: 'payer', label: 'Payer', primary: true, render: (s) => <strong>{s.payer}</strong> },
  { key: 'payee', label: 'Payee', render: (s) => s.payee },
  { key: 'calls', label: 'Calls', numeric: true, render: (s) => formatCount(s.calls) },
  { key: 'billable', label: 'Billable', numeric: true, render: (s) => formatDuration(s.billableS * 1000) },
  { key: 'amount', label: 'Amount', numeric: true, render: (s) => <strong>{formatMoney(s.amount, s.currency)}</strong> },
];

export function ClearinghousePage({ route }: { readonly route: Route }) {
  const { operator } = useSession();
  const fallback = thisMonth(Date.now());
  const from = route.query.get('from') ?? fallback.from;
  const to = route.query.get('to') ?? fallback.to;
  const domain = route.query.get('domain') ?? '';
  const fromMs = dayStartMs(from);
  const toDay = dayStartMs(to);
  const bad = fromMs === null ? 'from' : toDay === null ? 'to' : toDay < fromMs ? 'to' : null;
  const period = { fromMs: fromMs ?? 0, toMs: (toDay ?? 0) + DAY_MS, domain: domain || undefined };
  const report = useResource(`settlement:${from}:${to}:${domain}`, (signal) =>
    bad !== null ? Promise.resolve(null) : endpoints.settlement(period, signal),
  );
  const setQuery = (changes: Record<string, string>) => navigate(pathWithQuery('/clearinghouse', { from, to, domain: domain || undefined, ...changes }), { replace: true });

  const r = report.data;
  return (
    <section>
      <div class="page-head">
        <h1>Clearinghouse</h1>
        <span class="muted small">Calls that ended in the period, by UTC day{operator.domain !== null ? `; those of ${operator.domain}` : ''}</span>
      </div>
      {r && !r.available ? null : (
        <form class="filters period" onSubmit={(e) => e.preventDefault()} data-testid="period">
          <label class="filter">
            <span>From</span>
            <input type="date" name="from" value={from} max={to} onChange={(e) => setQuery({ from: valueOf(e) })} />
          </label>
          <label class="filter">
            <span>To (included)</span>
            <input type="date" name="to" value={to} min={from} onChange={(e) => setQuery({ to: valueOf(e) })} />
          </label>
          <label class="filter">
            <span>Domain</span>
            <input name="domain" key={`domain:${domain}`} defaultValue={domain} placeholder="any" onChange={(e) => setQuery({ domain: valueOf(e).trim() })} />
          </label>
        </form>
      )}
      {bad !== null ? <div class="notice error" role="alert">{bad === 'from' ? 'Pick the first day of the period.' : 'Pick a last day on or after the first.'}</div> : null}
      {report.error ? <ErrorNotice error={report.error} what="The report could not be loaded" /> : null}
      {bad === null && !r && !report.error ? <Loading what="the report" /> : null}
      {r && !r.available ? (
        <EmptyState title="The clearinghouse's records are not connected">
          <p data-testid="clearinghouse-hint">
            Start the server with <code class="nowrap">--clearinghouse-store &lt;url&gt;</code> naming the store the clearinghouse runs with (<code>sqlite:&lt;file&gt;</code> or <code>postgres://…</code>). The server only reads it.
          </p>
          <p class="muted small">
            For example, beside <code>callqos-cloud clearinghouse run --store sqlite:data/clearinghouse.db …</code>, start <code>callqos-cloud --clearinghouse-store sqlite:data/clearinghouse.db …</code>
          </p>
        </EmptyState>
      ) : null}
      {r && r.available ? (
        <>
          <div class="card">
            <div class="card-head">
              <h2>Settlement</h2>
              <a class="button" data-testid="csv-download" href={endpoints.cdrsCsvHref(period)} download>
                Download the {formatCount(r.records)} call records (CSV)
              </a>
            </div>
            <p class="muted small">What each domain owes another for calls between them, each call once by the asking side's record.</p>
            <DataTable testId="settlement-table" columns={settlementColumns} rows={r.settlement} rowKey={(s) => `${s.payer}>${s.payee}/${s.currency}`} empty={<p class="muted">No call between two domains ended in this period.</p>} />
          </div>
          <div class="card">
            <h2>Usage per domain</h2>
            <p class="muted small">Calls each domain asked for or answered, their billable time and media as the routers counted it.</p>
            <DataTable testId="usage-table" columns={usageColumns} rows={r.usage} rowKey={(u) => u.domain} empty={<p class="muted">No call ended in this period.</p>} />
          </div>
        </>
      ) : null}
    </section>
  );
}
