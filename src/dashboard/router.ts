/**
 * The dashboard's client-side routes: real paths (the cloud program answers every unknown path
 * with index.html), changed with the History API so that links can be opened, shared and reloaded.
 * The route table is data; `matchRoute` is pure so it is tested without a browser.
 */
import { useEffect, useState } from 'preact/hooks';

export type RouteName = 'overview' | 'devices' | 'device' | 'calls' | 'call' | 'clearinghouse' | 'enrolment' | 'config' | 'audit' | 'operators' | 'login' | 'setup' | 'not-found';

export interface Route {
  readonly name: RouteName;
  /** Path parameters, decoded (`/devices/:id` gives `{ id }`). */
  readonly params: Readonly<Record<string, string>>;
  /** The query string's parameters (filters, page). */
  readonly query: URLSearchParams;
}

const TABLE: readonly (readonly [RouteName, string])[] = [
  ['overview', '/'],
  ['devices', '/devices'],
  ['device', '/devices/:id'],
  ['calls', '/calls'],
  ['call', '/calls/:callId'],
  ['clearinghouse', '/clearinghouse'],
  ['enrolment', '/enrolment'],
  ['config', '/config'],
  ['audit', '/audit'],
  ['operators', '/operators'],
  ['login', '/login'],
  ['setup', '/setup'],
];

/** The route a path and query string name; `not-found` for anything else. */
export function matchRoute(pathname: string, search = ''): Route {
  const query = new URLSearchParams(search);
  const parts = pathname.split('/').filter((p) => p !== '');
  for (const [name, pattern] of TABLE) {
    const want = pattern.split('/').filter((p) => p !== '');
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    want.forEach((segment, i) => {
      const part = parts[i]!;
      if (segment.startsWith(':')) {
        try {
          params[segment.slice(1)] = decodeURIComponent(part);
        } catch {
          ok = false;
        }
      } else if (segment !== part) ok = false;
    });
    if (ok) return { name, params, query };
  }
  return { name: 'not-found', params: {}, query };
}

/** A path with a query string from filters; empty values are left out so URLs stay short. */
export function pathWithQuery(path: string, query: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

const CHANGE = 'callqos:navigate';

/** Goes to a path inside the dashboard without a reload; `replace` keeps the history entry (filters). */
export function navigate(path: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(CHANGE));
}

/** The current route, updated on navigate(), the back and forward buttons and in-app links. */
export function useRoute(): Route {
  const read = () => matchRoute(location.pathname, location.search);
  const [route, setRoute] = useState<Route>(read);
  useEffect(() => {
    const update = () => setRoute(read());
    // Plain <a href="/…"> links inside the app navigate without a reload; modified clicks
    // (new tab, download) and links elsewhere behave as the browser does.
    const onClick = (event: MouseEvent) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const anchor = (event.target as Element | null)?.closest?.('a');
      if (!anchor || anchor.target !== '' || anchor.hasAttribute('download')) return;
      const url = new URL(anchor.href, location.href);
      if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
      event.preventDefault();
      navigate(url.pathname + url.search + url.hash);
    };
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    document.addEventListener('click', onClick);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
      document.removeEventListener('click', onClick);
    };
  }, []);
  return route;
}
