/** The API calls the pages make, typed with the shapes in src/core/fleet/api.ts. */
import type {
  AuditPage,
  CreatedKey,
  CreatedOperator,
  DeviceDetail,
  DevicesPage,
  EnrolmentKeyView,
  FleetDeviceView,
  GroupBody,
  GroupView,
  KeyBody,
  OperatorBody,
  OperatorPatchBody,
  OperatorView,
  Overview,
  Rows,
  SessionInfo,
  SessionState,
  SessionView,
  UsageView,
} from '../../core/fleet/api.ts';
import type { CallDetail, CallFilter, CallSummary, ClearinghouseReport, DeviceEfSeries } from '../../core/fleet/api-calls.ts';
import type { CommandDetail, CommandView, SendCommandBody } from '../../core/fleet/api-commands.ts';
import type { ConfigLayerView, DeployBody, DeployView, DeviceConfigView, DraftBody, DraftView, RolloutView, VersionDiffView } from '../../core/fleet/api-config.ts';
import { api, queryString } from './client.ts';

const seg = encodeURIComponent;

export interface DeviceFilters {
  readonly search?: string;
  readonly group?: string;
  readonly tag?: string;
  readonly version?: string;
  readonly status?: string;
  readonly feature?: string;
  readonly sort?: string;
  readonly order?: 'asc' | 'desc';
  readonly offset?: number;
  readonly limit?: number;
}

export const endpoints = {
  me: (signal?: AbortSignal) => api.get<SessionInfo>('/auth/me', { signal }),
  login: (username: string, password: string) => api.post<SessionInfo>('/auth/login', { username, password }),
  setup: (token: string, username: string, password: string) => api.post<SessionInfo>('/auth/setup', { token, username, password }),
  logout: () => api.post<unknown>('/auth/logout'),

  overview: (signal?: AbortSignal) => api.get<Overview>('/overview', { signal }),

  devices: (filters: DeviceFilters, signal?: AbortSignal) => api.get<DevicesPage>(`/devices${queryString({ ...filters })}`, { signal }),
  device: (id: string, signal?: AbortSignal) => api.get<DeviceDetail>(`/devices/${seg(id)}`, { signal }),
  approveDevice: (id: string) => api.post<FleetDeviceView>(`/devices/${seg(id)}/approve`),
  rejectDevice: (id: string, reason: string) => api.post<FleetDeviceView>(`/devices/${seg(id)}/reject`, { reason }),
  revokeDevice: (id: string, reason: string) => api.post<FleetDeviceView>(`/devices/${seg(id)}/revoke`, { reason }),

  groups: (signal?: AbortSignal) => api.get<Rows<GroupView>>('/groups', { signal }),
  createGroup: (group: GroupBody) => api.post<GroupView>('/groups', group),
  keys: (signal?: AbortSignal) => api.get<Rows<EnrolmentKeyView>>('/enrolment-keys', { signal }),
  createKey: (key: KeyBody) => api.post<CreatedKey>('/enrolment-keys', key),
  revokeKey: (id: string) => api.post<EnrolmentKeyView>(`/enrolment-keys/${seg(id)}/revoke`),

  operators: (signal?: AbortSignal) => api.get<Rows<OperatorView>>('/operators', { signal }),
  createOperator: (operator: OperatorBody) => api.post<CreatedOperator>('/operators', operator),
  patchOperator: (id: string, patch: OperatorPatchBody) => api.patch<OperatorView>(`/operators/${seg(id)}`, patch),

  sessions: (query: { state?: SessionState; callId?: string; limit?: number }, signal?: AbortSignal) =>
    api.get<Rows<SessionView>>(`/sessions${queryString({ ...query })}`, { signal }),
  usage: (query: { callId?: string; device?: string; limit?: number }, signal?: AbortSignal) =>
    api.get<Rows<UsageView>>(`/usage${queryString({ ...query })}`, { signal }),
  calls: (query: { state?: CallFilter; limit?: number }, signal?: AbortSignal) => api.get<Rows<CallSummary>>(`/calls${queryString({ ...query })}`, { signal }),
  call: (callId: string, signal?: AbortSignal) => api.get<CallDetail>(`/calls/${seg(callId)}`, { signal }),
  deviceEf: (id: string, signal?: AbortSignal) => api.get<DeviceEfSeries>(`/devices/${seg(id)}/ef`, { signal }),
  settlement: (period: { fromMs: number; toMs: number; domain?: string }, signal?: AbortSignal) =>
    api.get<ClearinghouseReport>(`/clearinghouse/settlement${queryString({ ...period })}`, { signal }),
  /** A link, not a fetch: the browser downloads the file with the session cookie. */
  cdrsCsvHref: (period: { fromMs: number; toMs: number; domain?: string }) => `/api/v1/clearinghouse/cdrs.csv${queryString({ ...period })}`,
  commands: (id: string, signal?: AbortSignal) => api.get<Rows<CommandView>>(`/devices/${seg(id)}/commands`, { signal }),
  command: (commandId: string, signal?: AbortSignal) => api.get<CommandDetail>(`/commands/${seg(commandId)}`, { signal }),
  sendCommand: (id: string, body: SendCommandBody) => api.post<CommandView>(`/devices/${seg(id)}/commands`, body),
  deviceConfig: (id: string, signal?: AbortSignal) => api.get<DeviceConfigView>(`/devices/${seg(id)}/config`, { signal }),
  diffDeviceConfig: (id: string, a: number, b: number, signal?: AbortSignal) =>
    api.get<VersionDiffView>(`/devices/${seg(id)}/config/versions/${a}/diff/${b}`, { signal }),
  groupConfig: (group: string, signal?: AbortSignal) => api.get<ConfigLayerView>(`/groups/${seg(group)}/config`, { signal }),
  createDraft: (draft: DraftBody) => api.post<DraftView>('/config/drafts', draft),
  deployDraft: (draftId: string, body: DeployBody) => api.post<DeployView>(`/config/drafts/${seg(draftId)}/deploy`, body),
  discardDraft: (draftId: string) => api.delete<unknown>(`/config/drafts/${seg(draftId)}`),
  rollout: (rolloutId: string, signal?: AbortSignal) => api.get<RolloutView>(`/rollouts/${seg(rolloutId)}`, { signal }),
  audit: (query: { beforeSeq?: number; limit?: number }, signal?: AbortSignal) => api.get<AuditPage>(`/audit${queryString({ ...query })}`, { signal }),
};
