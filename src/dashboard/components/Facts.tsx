/** A definition list of facts (label: value), two columns on a wide screen, one on a phone. */
import type { ComponentChildren } from 'preact';

export function Facts({ items, testId }: { readonly items: readonly (readonly [string, ComponentChildren])[]; readonly testId?: string }) {
  return (
    <dl class="facts" data-testid={testId}>
      {items.map(([label, value]) => (
        <div key={label} class="fact">
          <dt>{label}</dt>
          <dd>{value === null || value === undefined || value === '' ? <span class="muted">–</span> : value}</dd>
        </div>
      ))}
    </dl>
  );
}
