/**
 * A router's remote commands: the history (newest first), a form to send one, and a finished
 * command's result. The commands offered are the ones the operator's role may send (COMMAND_ROLE,
 * as the server decides); a command's arguments are checked here by the same parser the router
 * runs (command-args.ts), so a bad one is named beside its field before anything is sent. The
 * history reloads every 2 s while a command is not finished: no live event carries commands.
 */
import { useEffect, useState } from 'preact/hooks';
import { roleAllows } from '../../../core/fleet/api.ts';
import {
  COMMANDS, COMMAND_DEADLINE_DEFAULT_S, COMMAND_DEADLINE_MAX_S, COMMAND_DEADLINE_MIN_S, COMMAND_ROLE, FINAL_COMMAND_STATES,
  type CommandDetail, type CommandName, type CommandView,
} from '../../../core/fleet/api-commands.ts';
import { parseCommandArgs } from '../../../core/fleet/router/command-args.ts';
import { ApiError } from '../../api/client.ts';
import { endpoints } from '../../api/endpoints.ts';
import { Badge, type Tone } from '../../components/Badge.tsx';
import { DataTable, type Column } from '../../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../../components/feedback.tsx';
import { Field, FormError, valueOf } from '../../components/Form.tsx';
import { formatTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { useSession } from '../../session.ts';

const POLL_MS = 2000;

const STATE_TONES: Readonly<Record<CommandView['state'], Tone>> = {
  queued: 'warn', sent: 'warn', acknowledged: 'info', succeeded: 'good', failed: 'bad', 'timed-out': 'bad', expired: 'muted',
};

/** The arguments the form asks for, per command (the optional diagnostics `part` is the server's to ask). */
const ARG_FIELDS: Partial<Record<CommandName, readonly { readonly name: string; readonly label: string; readonly hint: string; readonly placeholder?: string }[]>> = {
  'test-gate': [
    { name: 'lanAddress', label: 'LAN address', hint: 'The phone on the LAN.', placeholder: '192.168.1.20' },
    { name: 'lanPort', label: 'LAN port', hint: '1 to 65535.', placeholder: '4000' },
    { name: 'remoteAddress', label: 'Remote address', hint: 'Empty: any remote.' },
    { name: 'remotePort', label: 'Remote port', hint: 'Empty: any port.' },
    { name: 'direction', label: 'Direction', hint: 'up, down or both.', placeholder: 'both' },
    { name: 'seconds', label: 'Seconds', hint: '10 to 600: the gate ends by itself.', placeholder: '60' },
  ],
};

const isFinal = (c: CommandView) => FINAL_COMMAND_STATES.includes(c.state);

function columns(onShow: (id: string) => void): readonly Column<CommandView>[] {
  return [
    { key: 'name', label: 'Command', primary: true, render: (c) => <strong>{c.name}</strong> },
    { key: 'state', label: 'State', render: (c) => <Badge tone={STATE_TONES[c.state]}>{c.state}</Badge> },
    { key: 'by', label: 'Who', render: (c) => c.createdBy.replace(/^operator:/, '') },
    { key: 'asked', label: 'Asked', render: (c) => formatTime(c.createdAtMs) },
    { key: 'finished', label: 'Finished', render: (c) => (c.finishedAtMs === null ? <span class="muted">–</span> : formatTime(c.finishedAtMs)) },
    { key: 'error', label: 'Error', render: (c) => (c.error ? <span class="bad-text">{c.error.message}</span> : <span class="muted">–</span>) },
    {
      key: 'result',
      label: 'Result',
      render: (c) =>
        c.state === 'succeeded' ? (
          <button type="button" class="link" data-testid={`show-result-${c.id}`} onClick={() => onShow(c.id)}>
            Show
          </button>
        ) : (
          <span class="muted">–</span>
        ),
    },
  ];
}

function SendForm({ deviceId, onSent }: { readonly deviceId: string; readonly onSent: () => void }) {
  const role = useSession().operator.role;
  const allowed = COMMANDS.filter((c) => roleAllows(role, COMMAND_ROLE[c]));
  const [name, setName] = useState<CommandName>(allowed[0] ?? 'status');
  const [args, setArgs] = useState<Record<string, string>>({});
  const [deadline, setDeadline] = useState(String(COMMAND_DEADLINE_DEFAULT_S));
  const [checkError, setCheckError] = useState<ApiError | null>(null);
  const send = useAction(endpoints.sendCommand, () => {
    setArgs({});
    onSent();
  });
  const error = checkError ?? send.error;
  const fields = ARG_FIELDS[name] ?? [];
  const submit = () => {
    const given = Object.fromEntries(Object.entries(args).filter(([k, v]) => v.trim() !== '' && fields.some((f) => f.name === k)).map(([k, v]) => [k, v.trim()]));
    const checked = parseCommandArgs(name, given);
    if (!checked.ok) {
      setCheckError(new ApiError(0, checked.error.code, checked.error.message, `args.${checked.error.path ?? ''}`));
      return;
    }
    const seconds = Number(deadline);
    if (!/^[0-9]+$/.test(deadline) || seconds < COMMAND_DEADLINE_MIN_S || seconds > COMMAND_DEADLINE_MAX_S) {
      setCheckError(new ApiError(0, 'E_INPUT', `the deadline is from ${COMMAND_DEADLINE_MIN_S} to ${COMMAND_DEADLINE_MAX_S} seconds`, 'deadlineS'));
      return;
    }
    setCheckError(null);
    send.run(deviceId, { name, ...(Object.keys(given).length > 0 ? { args: given } : {}), deadlineS: seconds });
  };
  return (
    <form
      class="inline-form"
      data-testid="send-command"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <Field label="Command" name="name" error={error} hint={name === 'rotate-credentials' ? 'Gives the router a new broker password.' : undefined}>
        <select
          name="name"
          value={name}
          onChange={(e) => {
            setName(allowed.find((c) => c === valueOf(e)) ?? 'status');
            setCheckError(null);
            send.clearError();
          }}
        >
          {allowed.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </Field>
      {fields.map((f) => (
        <Field key={f.name} label={f.label} name={`args.${f.name}`} error={error} hint={f.hint}>
          <input name={`args.${f.name}`} placeholder={f.placeholder} value={args[f.name] ?? ''} onInput={(e) => setArgs({ ...args, [f.name]: valueOf(e) })} />
        </Field>
      ))}
      <Field label="Deadline (s)" name="deadlineS" error={error} hint="Queued until the router is online, at most this long.">
        <input name="deadlineS" inputMode="numeric" value={deadline} onInput={(e) => setDeadline(valueOf(e))} />
      </Field>
      <FormError error={error} fields={['name', 'deadlineS', ...fields.map((f) => `args.${f.name}`)]} />
      <button type="submit" disabled={send.busy}>
        {send.busy ? 'Sending…' : 'Send'}
      </button>
    </form>
  );
}

/** A finished command's data: diagnostics' parts each under its name, anything else as JSON. */
function ResultView({ commandId, onClose }: { readonly commandId: string; readonly onClose: () => void }) {
  const detail = useResource(`command:${commandId}`, (signal) => endpoints.command(commandId, signal));
  const d: CommandDetail | null = detail.data;
  const parts = d?.name === 'diagnostics' ? diagnosticsParts(d.data) : null;
  return (
    <div class="command-result" data-testid="command-result">
      <div class="row">
        <h3>{d ? `${d.name}, ${formatTime(d.finishedAtMs ?? d.createdAtMs)}` : 'Result'}</h3>
        <span class="spacer" />
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      {detail.error ? <ErrorNotice error={detail.error} what="The result could not be loaded" /> : null}
      {!d ? (
        <Loading what="the result" />
      ) : parts ? (
        parts.map((p) => (
          <section key={p.part} class="result-part">
            <h4>{p.name}</h4>
            {p.text.trim() === '' ? <p class="muted small">Empty: the router's command printed nothing.</p> : <pre class="result-text">{p.text}</pre>}
          </section>
        ))
      ) : (
        <pre class="result-text" data-testid="command-result-json">
          {JSON.stringify(d.data, null, 2)}
        </pre>
      )}
    </div>
  );
}

function diagnosticsParts(data: unknown): { part: number; name: string; text: string }[] | null {
  const list = typeof data === 'object' && data !== null ? (data as { parts?: unknown }).parts : undefined;
  if (!Array.isArray(list)) return null;
  return list.map((p: unknown, i) => {
    const r = typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
    return { part: typeof r.part === 'number' ? r.part : i, name: typeof r.name === 'string' ? r.name : `part ${i}`, text: typeof r.text === 'string' ? r.text : JSON.stringify(p, null, 2) };
  });
}

export function CommandsCard({ deviceId }: { readonly deviceId: string }) {
  const operator = useCan();
  const list = useResource(`commands:${deviceId}`, (signal) => endpoints.commands(deviceId, signal));
  const [shown, setShown] = useState<string | null>(null);
  const open = (list.data?.rows ?? []).some((c) => !isFinal(c));
  useEffect(() => {
    if (!open) return undefined;
    const timer = setInterval(list.reload, POLL_MS);
    return () => clearInterval(timer);
  }, [open, deviceId]);
  if (!operator) return null;
  return (
    <div class="card" data-testid="commands-card">
      <h2>Commands</h2>
      <SendForm deviceId={deviceId} onSent={list.reload} />
      {list.error ? <ErrorNotice error={list.error} what="The command history could not be loaded" /> : null}
      {!list.data ? (
        <Loading what="commands" />
      ) : (
        <DataTable
          testId="commands-table"
          columns={columns(setShown)}
          rows={list.data.rows}
          rowKey={(c) => c.id}
          empty={<EmptyState title="No commands yet">A command sent here waits until the router is online, up to its deadline.</EmptyState>}
        />
      )}
      {shown ? <ResultView key={shown} commandId={shown} onClose={() => setShown(null)} /> : null}
    </div>
  );
}

/** Commands are hidden from viewers: every command needs at least an operator. */
function useCan(): boolean {
  return roleAllows(useSession().operator.role, 'operator');
}
