/**
 * A router's configuration: the version the server wants against the one the router applied, the
 * state (with the router's reason and the paths it named), the versions made for it, and what
 * changes between any two of them. Reloaded with the page (every few seconds), since a router's
 * answer moves the state without an event.
 */
import { useEffect, useState } from 'preact/hooks';
import type { DeviceConfigView, VersionDiffView } from '../../../core/fleet/api-config.ts';
import type { DiffEntry, DiffValue } from '../../../core/fleet/config-diff.ts';
import type { DeviceConfigState } from '../../../core/fleet/rollout.ts';
import { endpoints } from '../../api/endpoints.ts';
import { Badge, type Tone } from '../../components/Badge.tsx';
import { DataTable, type Column } from '../../components/DataTable.tsx';
import { Facts } from '../../components/Facts.tsx';
import { EmptyState, ErrorNotice, Loading } from '../../components/feedback.tsx';
import { Field, valueOf } from '../../components/Form.tsx';
import { formatTime } from '../../format.ts';
import { useResource } from '../../hooks.ts';

export const CONFIG_STATE_TONES: Readonly<Record<DeviceConfigState, Tone>> = {
  pending: 'warn', applying: 'warn', applied: 'good', rejected: 'bad', 'rolled-back': 'bad', drift: 'warn',
};

type VersionRow = DeviceConfigView['versions'][number];
const versionColumns: readonly Column<VersionRow>[] = [
  { key: 'version', label: 'Version', primary: true, render: (v) => <strong>version {v.version}</strong> },
  { key: 'source', label: 'Made by', render: (v) => `${v.source} · ${v.createdBy.replace(/^operator:/, '')}` },
  { key: 'at', label: 'At', render: (v) => formatTime(v.createdAtMs) },
  { key: 'hash', label: 'Hash', render: (v) => <code title={v.hash}>{v.hash.slice(0, 12)}</code> },
];

export function diffValue(value: DiffValue | null) {
  if (value === null) return <span class="muted">–</span>;
  return <code class="diff-value">{typeof value === 'string' ? value : value.join(', ')}</code>;
}

export const diffColumns: readonly Column<DiffEntry>[] = [
  { key: 'path', label: 'Path', primary: true, render: (e) => <code>{e.path}</code> },
  { key: 'kind', label: 'Change', render: (e) => <Badge tone={e.kind === 'removed' ? 'bad' : e.kind === 'added' ? 'good' : 'info'}>{e.kind}</Badge> },
  { key: 'before', label: 'Before', render: (e) => diffValue(e.before) },
  { key: 'after', label: 'After', render: (e) => diffValue(e.after) },
];

function VersionDiff({ deviceId, versions }: { readonly deviceId: string; readonly versions: readonly VersionRow[] }) {
  const [a, setA] = useState(versions[1]?.version ?? versions[0]?.version ?? 0);
  const [b, setB] = useState(versions[0]?.version ?? 0);
  // A new version (a deploy while the page is open) moves "to" to it unless the operator chose.
  const newest = versions[0]?.version ?? 0;
  const [chosen, setChosen] = useState(false);
  useEffect(() => {
    if (!chosen) {
      setB(newest);
      setA(versions[1]?.version ?? newest);
    }
  }, [newest]);
  const diff = useResource<VersionDiffView | null>(`config-diff:${deviceId}:${a}:${b}`, (signal) =>
    a > 0 && b > 0 ? endpoints.diffDeviceConfig(deviceId, a, b, signal) : Promise.resolve(null),
  );
  const select = (label: string, name: string, value: number, set: (v: number) => void) => (
    <Field label={label} name={name}>
      <select
        name={name}
        value={String(value)}
        onChange={(e) => {
          setChosen(true);
          set(Number(valueOf(e)));
        }}
      >
        {versions.map((v) => (
          <option key={v.version} value={String(v.version)}>
            version {v.version}
          </option>
        ))}
      </select>
    </Field>
  );
  return (
    <div data-testid="config-diff">
      <h3>Difference between versions</h3>
      <div class="inline-form">
        {select('From', 'from', a, setA)}
        {select('To', 'to', b, setB)}
      </div>
      {diff.error ? <ErrorNotice error={diff.error} what="The difference could not be loaded" /> : null}
      {diff.data ? (
        <DataTable
          testId="config-diff-table"
          columns={diffColumns}
          rows={diff.data.diff}
          rowKey={(e) => `${e.kind}:${e.path}`}
          empty={<p class="muted">{a === b ? 'The same version.' : 'No option differs.'}</p>}
        />
      ) : null}
    </div>
  );
}

export function ConfigCard({ deviceId, refresh }: { readonly deviceId: string; readonly refresh: number }) {
  const config = useResource(`device-config:${deviceId}`, (signal) => endpoints.deviceConfig(deviceId, signal));
  useEffect(() => config.reload(), [refresh]);
  const c = config.data;
  const s = c?.status ?? null;
  return (
    <div class="card" data-testid="config-card">
      <h2>Configuration</h2>
      {config.error ? <ErrorNotice error={config.error} what="The configuration could not be loaded" /> : null}
      {!c ? (
        config.error ? null : <Loading what="the configuration" />
      ) : s === null ? (
        <EmptyState title="No configuration deployed">A version appears here when its group's template or its own overrides are deployed.</EmptyState>
      ) : (
        <>
          <Facts
            testId="config-status"
            items={[
              ['State', <Badge tone={CONFIG_STATE_TONES[s.state]}>{s.state}</Badge>],
              ['Desired version', String(s.desired)],
              ['Applied version', s.applied > 0 ? String(s.applied) : 'none yet'],
              ['Reason', s.reason],
              ['Problems', s.problems.length > 0 ? s.problems.map((p) => <div key={p.path}><code>{p.path}</code>: {p.message}</div>) : null],
              ['Self-test', s.selfTest ? `table ${s.selfTest.table}, queues ${s.selfTest.queues}, counters ${s.selfTest.counters}` : null],
              ['Rollout', s.rollout ? <code>{s.rollout}</code> : null],
              ['Since', formatTime(s.atMs)],
            ]}
          />
          <h3>Versions</h3>
          <DataTable testId="config-versions" columns={versionColumns} rows={c.versions} rowKey={(v) => String(v.version)} empty={<p class="muted">No versions.</p>} />
          {c.versions.length > 0 ? <VersionDiff deviceId={deviceId} versions={c.versions} /> : null}
        </>
      )}
    </div>
  );
}
