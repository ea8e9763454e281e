/** What to do when no router is known yet: said the same way on every page that lists routers. */
import { EmptyState } from './feedback.tsx';

export function EmptyFleet() {
  return (
    <EmptyState title="No routers yet">
      <p>
        Create an enrolment key on the <a href="/enrolment">Enrolment</a> page and set it on a router as <code>cloud.enrol_key</code> (with <code>cloud.broker</code> pointing at this server), or run{' '}
        <code>npm run demo</code> to see two simulated routers with calls.
      </p>
    </EmptyState>
  );
}
