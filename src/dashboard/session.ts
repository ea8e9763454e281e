/** The logged-in operator, for the pages: who it is and what its role lets it do. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { roleAllows, type Access, type OperatorIdentity } from '../core/fleet/api.ts';

export interface SessionValue {
  readonly operator: OperatorIdentity;
  readonly logout: () => void;
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === null) throw new Error('useSession outside a logged-in page');
  return value;
}

/** Whether the logged-in operator may do what needs `access` (the server checks again). */
export function useCan(access: Access): boolean {
  return roleAllows(useSession().operator.role, access);
}
