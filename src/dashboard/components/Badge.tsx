/** A state as a coloured word: the colour only repeats the word, so it reads without colour too. */
import type { ComponentChildren } from 'preact';

export type Tone = 'good' | 'bad' | 'warn' | 'info' | 'muted';

const TONES: Readonly<Record<string, Tone>> = {
  online: 'good',
  accepted: 'good',
  active: 'good',
  installed: 'good',
  admin: 'info',
  offline: 'muted',
  ended: 'muted',
  removed: 'muted',
  approved: 'info',
  pending: 'warn',
  installing: 'warn',
  removing: 'warn',
  ending: 'warn',
  rejected: 'bad',
  revoked: 'bad',
  failed: 'bad',
  expired: 'muted',
};

export function toneOf(state: string): Tone {
  return TONES[state] ?? 'muted';
}

export function Badge({ tone, children, title }: { readonly tone: Tone; readonly children: ComponentChildren; readonly title?: string }) {
  return (
    <span class={`badge ${tone}`} title={title}>
      {children}
    </span>
  );
}

export function StateBadge({ state, title }: { readonly state: string; readonly title?: string }) {
  return (
    <Badge tone={toneOf(state)} title={title}>
      {state}
    </Badge>
  );
}
