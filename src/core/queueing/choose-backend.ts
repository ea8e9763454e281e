/** The queue_backend option against what the running kernel offers (the caller probes it). */
import type { QueueBackend } from '../config/agent-config.ts';
import type { ShapingBackend } from './model.ts';

export interface BackendChoice {
  /** 'none': leave queueing alone (and remove what the agent built before). */
  readonly backend: ShapingBackend | 'none';
  /** Set when the choice differs from what was asked for. */
  readonly warning: string | null;
}

export function chooseBackend(requested: QueueBackend, available: { readonly cake: boolean }): BackendChoice {
  switch (requested) {
    case 'none':
    case 'htb':
      return { backend: requested, warning: null };
    case 'auto':
      return { backend: available.cake ? 'cake' : 'htb', warning: null };
    case 'cake':
      // Voice still gets its class: HTB is a fallback, not a failure (one config for many boards).
      return available.cake
        ? { backend: 'cake', warning: null }
        : { backend: 'htb', warning: 'queue_backend is cake but the kernel has no cake qdisc (kmod-sched-cake); using htb' };
  }
}
