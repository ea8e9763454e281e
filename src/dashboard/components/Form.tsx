/** Form pieces: a labelled field that shows the server's error when it names this field. */
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api/client.ts';

interface FieldProps {
  readonly label: string;
  /** The field's name in the request body (`username`), to match the server's error path. */
  readonly name: string;
  readonly error?: ApiError | null;
  readonly hint?: ComponentChildren;
  readonly children: ComponentChildren;
}

export function Field({ label, name, error, hint, children }: FieldProps) {
  const mine = error && error.field === name ? error : null;
  return (
    <label class={mine ? 'field invalid' : 'field'}>
      <span class="field-label">{label}</span>
      {children}
      {mine ? (
        <span class="field-error" role="alert" data-testid={`error-${name}`}>
          {mine.message}
        </span>
      ) : hint ? (
        <span class="field-hint">{hint}</span>
      ) : null}
    </label>
  );
}

/** An error no field of the form shows (no field, or a field the form does not have). */
export function FormError({ error, fields }: { readonly error: ApiError | null; readonly fields: readonly string[] }) {
  if (!error || (error.field !== null && fields.includes(error.field))) return null;
  return (
    <div class="notice error" role="alert">
      {error.message}
      {error.field ? <span class="field-ref"> (field {error.field})</span> : null} <code class="code">{error.code}</code>
    </div>
  );
}

/** The current value of a form control (for onInput handlers). */
export function valueOf(event: Event): string {
  return (event.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}
