/** What a page shows while loading, when it failed, and when there is nothing yet. */
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api/client.ts';

/** The server's message, its code, and the field it names. */
export function ErrorNotice({ error, what }: { readonly error: ApiError; readonly what?: string }) {
  return (
    <div class="notice error" role="alert">
      <strong>{what ? `${what}: ` : ''}</strong>
      {error.message}
      {error.field ? <span class="field-ref"> (field {error.field})</span> : null} <code class="code">{error.code}</code>
    </div>
  );
}

export function Loading({ what }: { readonly what: string }) {
  return (
    <p class="loading" aria-busy="true">
      Loading {what}…
    </p>
  );
}

/** Nothing to show yet: says why and what to do about it. */
export function EmptyState({ title, children }: { readonly title: string; readonly children?: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      <p class="empty-title">{title}</p>
      {children ? <div class="empty-help">{children}</div> : null}
    </div>
  );
}

export function Notice({ tone, children }: { readonly tone: 'info' | 'success' | 'warning'; readonly children: ComponentChildren }) {
  return (
    <div class={`notice ${tone}`} role="status">
      {children}
    </div>
  );
}
