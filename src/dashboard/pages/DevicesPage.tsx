/**
 * Devices: the inventory as the server pages it. Search, filters and sort live in the URL's query
 * string, so a filtered list can be reloaded and shared; the table reloads on live updates.
 */
import { useEffect, useState } from 'preact/hooks';
import { DEVICE_FEATURES, DEVICE_SORTS, DEVICE_STATUS_FILTERS, EVENTS, type InventoryRowView } from '../../core/fleet/api.ts';
import { endpoints, type DeviceFilters } from '../api/endpoints.ts';
import { useLiveEvents } from '../api/live.ts';
import { StateBadge } from '../components/Badge.tsx';
import { DataTable, type Column, type SortState } from '../components/DataTable.tsx';
import { EmptyFleet } from '../components/EmptyFleet.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { valueOf } from '../components/Form.tsx';
import { Pager } from '../components/Pager.tsx';
import { formatAgo } from '../format.ts';
import { useDebounced, useResource } from '../hooks.ts';
import { navigate, pathWithQuery, type Route } from '../router.ts';

const PAGE = 50;
const FILTERS = ['search', 'group', 'tag', 'version', 'status', 'feature'] as const;
type FilterName = (typeof FILTERS)[number];
const FEATURE_LABELS: Readonly<Record<(typeof DEVICE_FEATURES)[number], string>> = { cake: 'cake', fqCodel: 'fq_codel', ctinfo: 'ctinfo', flowOffload: 'flow offloading' };

function filtersOf(query: URLSearchParams): DeviceFilters & { sort: string; order: 'asc' | 'desc'; offset: number } {
  const get = (name: string) => query.get(name) ?? undefined;
  const sort = get('sort');
  const offset = Number(get('offset') ?? 0);
  return {
    search: get('search'),
    group: get('group'),
    tag: get('tag'),
    version: get('version'),
    status: get('status'),
    feature: get('feature'),
    sort: sort !== undefined && (DEVICE_SORTS as readonly string[]).includes(sort) ? sort : 'id',
    order: get('order') === 'desc' ? 'desc' : 'asc',
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** The sort choices at a phone's width, where the table has no column headers to click. */
const SORT_CHOICES: readonly (readonly [string, string])[] = [
  ['id:asc', 'id'],
  ['name:asc', 'name'],
  ['group:asc', 'group'],
  ['status:asc', 'status'],
  ['lastSeen:desc', 'last seen, newest first'],
  ['lastSeen:asc', 'last seen, oldest first'],
  ['version:desc', 'agent version, newest first'],
];

const columns: readonly Column<InventoryRowView>[] = [
  {
    key: 'device',
    label: 'Router',
    sort: 'id',
    primary: true,
    render: (r) => (
      <a href={`/devices/${encodeURIComponent(r.deviceId)}`} class="device-link">
        <span class="device-name">{r.fleet?.name && r.fleet.name !== r.deviceId ? r.fleet.name : r.deviceId}</span>
        {r.fleet?.name && r.fleet.name !== r.deviceId ? <span class="device-id">{r.deviceId}</span> : null}
      </a>
    ),
  },
  {
    key: 'status',
    label: 'Status',
    sort: 'status',
    render: (r) => (
      <span class="badges">
        {r.status ? <StateBadge state={r.status} /> : <span class="muted">never connected</span>}
        {r.fleet && r.fleet.state !== 'accepted' ? <StateBadge state={r.fleet.state} title={r.fleet.stateReason ?? undefined} /> : null}
      </span>
    ),
  },
  { key: 'group', label: 'Group', sort: 'group', render: (r) => r.fleet?.group ?? <span class="muted">–</span> },
  { key: 'tags', label: 'Tags', render: (r) => (r.fleet && r.fleet.tags.length > 0 ? r.fleet.tags.map((t) => <span key={t} class="tag">{t}</span>) : <span class="muted">–</span>) },
  { key: 'version', label: 'Agent', sort: 'version', render: (r) => r.agentVersion ?? r.fleet?.versions.agent ?? <span class="muted">–</span> },
  { key: 'model', label: 'Model', render: (r) => r.fleet?.hardware.model ?? <span class="muted">–</span> },
  { key: 'seen', label: 'Last seen', sort: 'lastSeen', render: (r) => <span title={r.lastSeenMs ? new Date(r.lastSeenMs).toISOString() : undefined}>{formatAgo(r.lastSeenMs, Date.now())}</span> },
];

export function DevicesPage({ route }: { readonly route: Route }) {
  const filters = filtersOf(route.query);
  const [search, setSearch] = useState(filters.search ?? '');
  // A pause between keystrokes (most people type 5 to 8 a second) asks the server; short enough
  // that the answer still feels immediate (the fleet bench measures the whole path).
  const debounced = useDebounced(search, 120);
  const groups = useResource('groups', (signal) => endpoints.groups(signal));

  const setQuery = (changes: Partial<Record<FilterName | 'sort' | 'order' | 'offset', string | number | undefined>>) => {
    const next = { ...filters, offset: 0, ...changes };
    navigate(pathWithQuery('/devices', { ...next, sort: next.sort === 'id' ? undefined : next.sort, order: next.order === 'asc' ? undefined : next.order, offset: next.offset || undefined }), { replace: true });
  };

  useEffect(() => {
    if ((debounced || undefined) !== filters.search) setQuery({ search: debounced || undefined });
    // Only a pause in typing changes the query.
  }, [debounced]);

  const key = JSON.stringify(filters);
  const page = useResource(`devices:${key}`, (signal) => endpoints.devices({ ...filters, limit: PAGE }, signal));
  useLiveEvents([EVENTS.overview], () => page.reload());

  const filtered = FILTERS.some((f) => filters[f] !== undefined);
  const sort: SortState = { sort: filters.sort, order: filters.order };
  return (
    <section>
      <div class="page-head">
        <h1>Devices</h1>
        {page.data ? <span class="muted small" data-testid="device-total">{page.data.total} {page.data.total === 1 ? 'router' : 'routers'}{filtered ? ' match' : ''}</span> : null}
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} role="search">
        <label class="filter grow">
          <span>Search</span>
          <input type="search" placeholder="id, name or hardware id" value={search} onInput={(e) => setSearch(valueOf(e))} />
        </label>
        <label class="filter">
          <span>Status</span>
          <select value={filters.status ?? ''} onChange={(e) => setQuery({ status: valueOf(e) || undefined })}>
            <option value="">any</option>
            {DEVICE_STATUS_FILTERS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="filter">
          <span>Group</span>
          <select value={filters.group ?? ''} onChange={(e) => setQuery({ group: valueOf(e) || undefined })}>
            <option value="">any</option>
            {(groups.data?.rows ?? []).map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label class="filter">
          <span>Feature</span>
          <select value={filters.feature ?? ''} onChange={(e) => setQuery({ feature: valueOf(e) || undefined })}>
            <option value="">any</option>
            {DEVICE_FEATURES.map((f) => (
              <option key={f} value={f}>
                {FEATURE_LABELS[f]}
              </option>
            ))}
          </select>
        </label>
        <label class="filter">
          <span>Tag</span>
          <input key={`tag:${filters.tag ?? ''}`} defaultValue={filters.tag ?? ''} placeholder="any" onChange={(e) => setQuery({ tag: valueOf(e).trim() || undefined })} />
        </label>
        <label class="filter">
          <span>Agent version</span>
          <input key={`version:${filters.version ?? ''}`} defaultValue={filters.version ?? ''} placeholder="any" onChange={(e) => setQuery({ version: valueOf(e).trim() || undefined })} />
        </label>
        <label class="filter phone-only">
          <span>Sort by</span>
          <select value={`${filters.sort}:${filters.order}`} onChange={(e) => { const [sort, order] = valueOf(e).split(':'); setQuery({ sort, order }); }}>
            {SORT_CHOICES.map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </label>
        {filtered ? (
          <button
            type="button"
            class="secondary filter-clear"
            onClick={() => {
              setSearch('');
              navigate('/devices', { replace: true });
            }}
          >
            Clear filters
          </button>
        ) : null}
      </form>
      {page.error ? <ErrorNotice error={page.error} what="The device list could not be loaded" /> : null}
      {!page.data ? (
        page.error ? null : <Loading what="devices" />
      ) : (
        <>
          <DataTable
            testId="devices-table"
            columns={columns}
            rows={page.data.rows}
            rowKey={(r) => r.deviceId}
            sort={sort}
            onSort={(s) => setQuery({ sort: s.sort, order: s.order })}
            empty={filtered ? <EmptyState title="No router matches these filters">Change or clear the filters above.</EmptyState> : <EmptyFleet />}
          />
          <Pager offset={filters.offset} limit={PAGE} total={page.data.total} onOffset={(offset) => setQuery({ offset })} />
        </>
      )}
    </section>
  );
}
