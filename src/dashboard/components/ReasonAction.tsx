/** A button for an action that needs a reason (reject, revoke): asks for it inline, then sends. */
import { useState } from 'preact/hooks';
import type { ApiError } from '../api/client.ts';
import { Field, FormError, valueOf } from './Form.tsx';

interface Props {
  readonly label: string;
  readonly placeholder: string;
  readonly busy: boolean;
  readonly error: ApiError | null;
  readonly onSubmit: (reason: string) => void;
  readonly danger?: boolean;
}

export function ReasonAction({ label, placeholder, busy, error, onSubmit, danger = true }: Props) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  if (!open) {
    return (
      <button type="button" class={danger ? 'danger' : 'secondary'} onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  }
  return (
    <form
      class="reason-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit(reason.trim());
      }}
    >
      <Field label={`Reason to ${label.toLowerCase()}`} name="reason" error={error}>
        <input name="reason" required maxLength={200} placeholder={placeholder} value={reason} onInput={(e) => setReason(valueOf(e))} />
      </Field>
      <FormError error={error} fields={['reason']} />
      <div class="row">
        <button type="submit" class={danger ? 'danger' : undefined} disabled={busy}>
          {busy ? 'Sending…' : label}
        </button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
