/**
 * The frame of every logged-in page: the top bar (product, live state, the operator, logout) and
 * the navigation, which at a phone's width folds into a menu button.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useLiveEvents, type LiveState } from '../api/live.ts';
import type { RouteName } from '../router.ts';
import { useSession } from '../session.ts';
import { roleAllows, type Access } from '../../core/fleet/api.ts';

interface NavItem {
  readonly route: RouteName;
  readonly path: string;
  readonly label: string;
  readonly access: Access;
  /** Hidden from operators scoped to one domain (the server answers them 403). */
  readonly unscopedOnly?: boolean;
}

const NAV: readonly NavItem[] = [
  { route: 'overview', path: '/', label: 'Overview', access: 'viewer' },
  { route: 'devices', path: '/devices', label: 'Devices', access: 'viewer' },
  { route: 'calls', path: '/calls', label: 'Calls', access: 'viewer' },
  { route: 'clearinghouse', path: '/clearinghouse', label: 'Clearinghouse', access: 'viewer' },
  { route: 'enrolment', path: '/enrolment', label: 'Enrolment', access: 'viewer' },
  { route: 'config', path: '/config', label: 'Configuration', access: 'viewer' },
  { route: 'audit', path: '/audit', label: 'Audit', access: 'viewer', unscopedOnly: true },
  { route: 'operators', path: '/operators', label: 'Operators', access: 'admin' },
];

const LIVE_TEXT: Readonly<Record<LiveState, string>> = { live: 'Live', connecting: 'Connecting…', down: 'Offline' };

function activeSection(route: RouteName): RouteName {
  return route === 'device' ? 'devices' : route === 'call' ? 'calls' : route;
}

export function Shell({ route, children }: { readonly route: RouteName; readonly children: ComponentChildren }) {
  const { operator, logout } = useSession();
  const [menuOpen, setMenuOpen] = useState(false);
  // The top bar listens too, so the stream's state shows on every page.
  const live = useLiveEvents([], () => undefined);
  useEffect(() => setMenuOpen(false), [route]);
  const items = NAV.filter((item) => roleAllows(operator.role, item.access) && !(item.unscopedOnly && operator.domain !== null));
  const section = activeSection(route);
  return (
    <div class="app">
      <header class="topbar">
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          <span aria-hidden="true">☰</span>
          <span class="visually-hidden">Menu</span>
        </button>
        <a class="brand" href="/">
          callqos <span class="brand-sub">fleet</span>
        </a>
        <span class={`live ${live}`} title="Live updates from the server (server-sent events)" data-testid="live-state">
          <span class="dot" aria-hidden="true" />
          {LIVE_TEXT[live]}
        </span>
        <span class="spacer" />
        <span class="who" data-testid="operator">
          <span class="who-name">{operator.username}</span>
          <span class="who-role">
            {operator.role}
            {operator.domain ? ` · ${operator.domain}` : ''}
          </span>
        </span>
        <button type="button" class="secondary small" onClick={logout}>
          Log out
        </button>
      </header>
      <nav id="nav" class={menuOpen ? 'nav open' : 'nav'} aria-label="Sections">
        {items.map((item) => (
          <a key={item.route} href={item.path} class={section === item.route ? 'active' : undefined} aria-current={section === item.route ? 'page' : undefined}>
            {item.label}
          </a>
        ))}
      </nav>
      <main class="content">{children}</main>
    </div>
  );
}
