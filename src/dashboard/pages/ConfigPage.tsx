/**
 * A group's configuration: its template and variables edited as JSON, previewed as a draft (the
 * diff and problems per router), then deployed at once or as a staged rollout, or discarded.
 *
 * The template is edited as JSON text, not as a form of sections and options: a template may hold
 * any section of the agent's spec (and list options, deletions, anonymous sections), and the API
 * checks it with the one schema and names the bad field by path (`template[0].options.x`), which
 * is shown under the box. A form would have to repeat that spec here and fall behind it.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConfigLayerView, DeployView, DevicePreviewView, DraftView, DriftPolicy } from '../../core/fleet/api-config.ts';
import { DRIFT_POLICIES } from '../../core/fleet/api-config.ts';
import { ApiError } from '../api/client.ts';
import { endpoints } from '../api/endpoints.ts';
import { Badge } from '../components/Badge.tsx';
import { DataTable } from '../components/DataTable.tsx';
import { Facts } from '../components/Facts.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { Field, FormError, valueOf } from '../components/Form.tsx';
import { formatTime } from '../format.ts';
import { useAction, useResource } from '../hooks.ts';
import { navigate, pathWithQuery, type Route } from '../router.ts';
import { useCan } from '../session.ts';
import { diffColumns } from './device/ConfigCard.tsx';

const ROLLOUT_POLL_MS = 2000;

/** The server names `groups[0].template[1].options.x`; the form has `template` and `variables`. */
function fieldOf(error: ApiError | null): ApiError | null {
  if (!error?.field) return error;
  const m = /^groups\[0\]\.(template|variables|driftPolicy)(.*)$/.exec(error.field);
  if (!m) return error;
  const path = `${m[1]}${m[2]}`;
  return new ApiError(error.status, error.code, path === m[1] ? error.message : `${path}: ${error.message}`, m[1]!);
}

function parseJson(text: string, field: string, want: 'array' | 'object'): { value: unknown } | { error: ApiError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: new ApiError(0, 'E_INPUT', `not JSON: ${err instanceof Error ? err.message : String(err)}`, field) };
  }
  const isArray = Array.isArray(value);
  if (want === 'array' ? !isArray : isArray || typeof value !== 'object' || value === null) {
    return { error: new ApiError(0, 'E_INPUT', want === 'array' ? 'the template is a JSON list of sections' : 'the variables are a JSON object of names to text', field) };
  }
  return { value };
}

function DevicePreview({ d }: { readonly d: DevicePreviewView }) {
  return (
    <section class="preview-device" data-testid={`preview-${d.deviceId}`}>
      <h3>
        <a href={`/devices/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a>{' '}
        {d.problems.length > 0 ? <Badge tone="bad">invalid</Badge> : d.changed ? <Badge tone="info">changes</Badge> : <Badge tone="muted">unchanged</Badge>}
      </h3>
      <p class="muted small">{d.fromVersion > 0 ? `From version ${d.fromVersion}.` : 'Its first version from the fleet: every option is new.'}</p>
      {d.problems.length > 0 ? (
        <ul class="problems" data-testid="preview-problems">
          {d.problems.map((p) => (
            <li key={p.path} class="bad-text">
              <code>{p.path}</code>: {p.message}
            </li>
          ))}
        </ul>
      ) : null}
      <DataTable columns={diffColumns} rows={d.diff} rowKey={(e) => `${e.kind}:${e.path}`} testId={`preview-diff-${d.deviceId}`} empty={<p class="muted">No option changes.</p>} />
    </section>
  );
}

function RolloutProgress({ id }: { readonly id: string }) {
  const rollout = useResource(`rollout:${id}`, (signal) => endpoints.rollout(id, signal));
  const running = rollout.data?.state === 'running';
  useEffect(() => {
    if (!running && rollout.data) return undefined;
    const timer = setInterval(rollout.reload, ROLLOUT_POLL_MS);
    return () => clearInterval(timer);
  }, [running, rollout.data === null]);
  const r = rollout.data;
  if (!r) return rollout.error ? <ErrorNotice error={rollout.error} what="The rollout could not be loaded" /> : <Loading what="the rollout" />;
  return (
    <div data-testid="rollout">
      <h3>Rollout {r.id}</h3>
      <Facts
        items={[
          ['State', <Badge tone={r.state === 'completed' ? 'good' : r.state === 'stopped' ? 'bad' : 'warn'}>{r.state}</Badge>],
          ['Reason', r.reason],
          ['Wave', `${r.wave + 1} of ${r.waves}${r.wave === 0 ? ' (canary)' : ''}`],
          ['Routers', `${r.counts.applied} applied · ${r.counts.sent} sent · ${r.counts.waiting} waiting · ${r.counts.failed} failed · ${r.counts['timed-out']} timed out, of ${r.counts.total}`],
          ['Started', `${formatTime(r.createdAtMs)} by ${r.createdBy.replace(/^operator:/, '')}`],
        ]}
      />
    </div>
  );
}

function DeployPanel({ draft, onDone }: { readonly draft: DraftView; readonly onDone: (result: DeployView | null) => void }) {
  const [staged, setStaged] = useState(false);
  const [canary, setCanary] = useState('10');
  const [wave, setWave] = useState('10');
  const [stop, setStop] = useState('20');
  const deploy = useAction(endpoints.deployDraft, (r) => onDone(r));
  const discard = useAction(endpoints.discardDraft, () => onDone(null));
  const invalid = draft.devices.some((d) => d.problems.length > 0);
  const num = (t: string) => (/^[0-9]+$/.test(t.trim()) ? Number(t.trim()) : NaN);
  return (
    <form
      class="deploy-form"
      data-testid="deploy-form"
      onSubmit={(e) => {
        e.preventDefault();
        deploy.run(draft.id, staged ? { rollout: { canaryPercent: num(canary), waveSize: num(wave), stopPercent: num(stop) } } : {});
      }}
    >
      <label class="check">
        <input type="checkbox" name="staged" checked={staged} onChange={(e) => setStaged((e.currentTarget as HTMLInputElement).checked)} /> Deploy as a staged rollout
      </label>
      {staged ? (
        <div class="inline-form">
          <Field label="Canary (%)" name="rollout.canaryPercent" error={deploy.error} hint="Share of the group in the first wave.">
            <input name="canaryPercent" inputMode="numeric" value={canary} onInput={(e) => setCanary(valueOf(e))} />
          </Field>
          <Field label="Wave size" name="rollout.waveSize" error={deploy.error} hint="Routers per later wave.">
            <input name="waveSize" inputMode="numeric" value={wave} onInput={(e) => setWave(valueOf(e))} />
          </Field>
          <Field label="Stop at failed (%)" name="rollout.stopPercent" error={deploy.error} hint="Of the routers sent so far.">
            <input name="stopPercent" inputMode="numeric" value={stop} onInput={(e) => setStop(valueOf(e))} />
          </Field>
        </div>
      ) : null}
      <FormError error={deploy.error} fields={staged ? ['rollout.canaryPercent', 'rollout.waveSize', 'rollout.stopPercent'] : []} />
      {discard.error ? <ErrorNotice error={discard.error} what="The draft could not be discarded" /> : null}
      <div class="actions">
        <button type="submit" disabled={deploy.busy || invalid} title={invalid ? 'A router\'s result is invalid: fix the template first' : undefined}>
          {deploy.busy ? 'Deploying…' : 'Deploy'}
        </button>
        <button type="button" class="secondary" disabled={discard.busy} onClick={() => discard.run(draft.id)}>
          Discard
        </button>
      </div>
    </form>
  );
}

function GroupEditor({ layer, canEdit }: { readonly layer: ConfigLayerView; readonly canEdit: boolean }) {
  const [template, setTemplate] = useState(JSON.stringify(layer.sections, null, 2));
  const [variables, setVariables] = useState(JSON.stringify(layer.variables, null, 2));
  const [drift, setDrift] = useState<DriftPolicy>(layer.driftPolicy ?? 'cloud-wins');
  const [localError, setLocalError] = useState<ApiError | null>(null);
  const [draft, setDraft] = useState<DraftView | null>(null);
  const [deployed, setDeployed] = useState<DeployView | null>(null);
  const preview = useAction(endpoints.createDraft, (d) => {
    setDraft(d);
    setDeployed(null);
  });
  const error = fieldOf(localError ?? preview.error);
  const submit = () => {
    const t = parseJson(template, 'template', 'array');
    if ('error' in t) return setLocalError(t.error);
    const v = parseJson(variables, 'variables', 'object');
    if ('error' in v) return setLocalError(v.error);
    setLocalError(null);
    // The API checks the shapes and names the bad path; the casts only carry the parsed JSON there.
    preview.run({ groups: [{ group: layer.id, template: t.value as never, variables: v.value as never, driftPolicy: drift }] });
  };
  return (
    <>
      <div class="card">
        <h2>Template of {layer.id}</h2>
        <p class="muted small">{layer.updatedAtMs > 0 ? `Last changed ${formatTime(layer.updatedAtMs)} by ${layer.updatedBy.replace(/^operator:/, '')}.` : 'Never changed: the routers run the agent\'s defaults.'}</p>
        <form
          data-testid="group-config"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <Field label="Template (JSON: a list of sections)" name="template" error={error} hint={<>Each section: <code>{'{"type": "qos", "name": "qos", "options": {"ef_budget_percent": "30"}}'}</code>; a null option removes it.</>}>
            <textarea name="template" class="config-editor" spellcheck={false} readOnly={!canEdit} value={template} onInput={(e) => setTemplate(valueOf(e))} />
          </Field>
          <Field label="Variables (JSON: names to text)" name="variables" error={error} hint={<>Used as <code>{'${name}'}</code> in option values.</>}>
            <textarea name="variables" class="config-editor short" spellcheck={false} readOnly={!canEdit} value={variables} onInput={(e) => setVariables(valueOf(e))} />
          </Field>
          <Field label="When a router's own edit drifts" name="driftPolicy" error={error}>
            <select name="driftPolicy" value={drift} disabled={!canEdit} onChange={(e) => setDrift(DRIFT_POLICIES.find((p) => p === valueOf(e)) ?? 'cloud-wins')}>
              {DRIFT_POLICIES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </Field>
          <FormError error={error} fields={['template', 'variables', 'driftPolicy']} />
          {canEdit ? (
            <button type="submit" disabled={preview.busy || draft !== null}>
              {preview.busy ? 'Previewing…' : 'Preview'}
            </button>
          ) : (
            <p class="muted small">Changes need the operator role.</p>
          )}
        </form>
      </div>
      {draft ? (
        <div class="card" data-testid="draft">
          <h2>Preview</h2>
          {draft.devices.length === 0 ? <EmptyState title="No routers in this group">The template applies to routers as they join the group.</EmptyState> : draft.devices.map((d) => <DevicePreview key={d.deviceId} d={d} />)}
          <DeployPanel
            draft={draft}
            onDone={(r) => {
              setDraft(null);
              setDeployed(r);
            }}
          />
        </div>
      ) : null}
      {deployed ? (
        <div class="card" data-testid="deployed">
          <h2>Deployed</h2>
          <ul>
            {deployed.devices.map((d) => (
              <li key={d.deviceId}>
                <a href={`/devices/${encodeURIComponent(d.deviceId)}`}>{d.deviceId}</a>: version {d.version}
                {d.created ? '' : ' (unchanged)'}
                {d.sent ? ', sent' : ', sent when it is online'}
              </li>
            ))}
          </ul>
          {deployed.rollout ? <RolloutProgress id={deployed.rollout} /> : null}
        </div>
      ) : null}
    </>
  );
}

export function ConfigPage({ route }: { readonly route: Route }) {
  const canEdit = useCan('operator');
  const groups = useResource('groups', (signal) => endpoints.groups(signal));
  const group = route.query.get('group') ?? groups.data?.rows[0]?.id ?? '';
  const layer = useResource(`group-config:${group}`, (signal) => (group === '' ? Promise.resolve(null) : endpoints.groupConfig(group, signal)));
  return (
    <section>
      <div class="page-head">
        <h1>Configuration</h1>
      </div>
      {groups.error ? <ErrorNotice error={groups.error} what="The groups could not be loaded" /> : null}
      {!groups.data ? (
        <Loading what="groups" />
      ) : groups.data.rows.length === 0 ? (
        <EmptyState title="No device groups yet">A group's template is its routers' configuration; make a group on the Enrolment page.</EmptyState>
      ) : (
        <>
          <div class="inline-form">
            <Field label="Group" name="group">
              <select name="group" value={group} onChange={(e) => navigate(pathWithQuery('/config', { group: valueOf(e) }), { replace: true })}>
                {groups.data.rows.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.name === g.id ? g.id : `${g.name} (${g.id})`}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          {layer.error ? <ErrorNotice error={layer.error} what="The group's configuration could not be loaded" /> : null}
          {layer.data ? <GroupEditor key={`${layer.data.id}:${layer.data.updatedAtMs}`} layer={layer.data} canEdit={canEdit} /> : layer.error ? null : <Loading what="the template" />}
        </>
      )}
    </section>
  );
}
