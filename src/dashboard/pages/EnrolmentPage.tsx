/**
 * Enrolment: routers waiting for approval, the enrolment keys (made here, the whole key shown
 * once), and the device groups the keys put routers in.
 */
import { EVENTS } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { useLiveEvents } from '../api/live.ts';
import { useResource } from '../hooks.ts';
import { useCan } from '../session.ts';
import { GroupsSection } from './enrolment/GroupsSection.tsx';
import { KeysSection } from './enrolment/KeysSection.tsx';
import { PendingSection } from './enrolment/PendingSection.tsx';

export function EnrolmentPage() {
  const admin = useCan('admin');
  const groups = useResource('groups', (signal) => endpoints.groups(signal));
  const pending = useResource('pending', (signal) => endpoints.devices({ status: 'pending', sort: 'id', limit: 200 }, signal));
  useLiveEvents([EVENTS.overview], () => pending.reload());
  return (
    <section>
      <div class="page-head">
        <h1>Enrolment</h1>
      </div>
      <PendingSection pending={pending} />
      {admin ? <KeysSection groups={groups.data?.rows ?? []} /> : null}
      <GroupsSection groups={groups} />
    </section>
  );
}
