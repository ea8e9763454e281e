/**
 * queueing: the tc half of the router data plane (DESIGN.md section 3).
 *
 *   renderTc(shaping)            both directions' shaping -> Result<TcCommand[]> (argv lists)
 *   renderTcTeardown(devices)    removing it -> Result<TcCommand[]>
 *   chooseBackend(requested, k)  queue_backend and the kernel's qdiscs -> htb, cake or none
 */
export { chooseBackend, type BackendChoice } from './choose-backend.ts';
export type { BestEffortQdisc, ShapingBackend, TcCommand, TcDevices, TcShaping } from './model.ts';
export { formatTcCommands, renderTc, renderTcTeardown } from './render-tc.ts';
export { EF_BUDGET_PERCENT_MAX, EF_BUDGET_PERCENT_MIN, LINK_KBIT_MAX, LINK_KBIT_MIN } from './tc-values.ts';
