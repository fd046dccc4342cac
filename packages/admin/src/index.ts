export {
  type AclRequest,
  type AclRule,
  aclRules,
  aclSetUserArgs,
  aclSetUserLine,
  defaultUser,
  type PasswordRule,
} from './acl/acl-rules.js';
export { ROLE_GRANTS, ROLES, type Role, type RoleGrants } from './acl/role-grants.js';
export {
  type ClusterRedis,
  type ClusterView,
  type DurableBacklog,
  type DurableOwner,
  heartbeatAge,
  type LiveWorker,
  parsePolicyWeight,
  readClusterView,
  readLiveWorker,
} from './cluster-view.js';
export {
  COMMAND_TIMEOUT_MS,
  CONNECT_TIMEOUT_MS,
  type ConnectOptions,
  connectAdmin,
} from './connection.js';
export {
  type Dashboard,
  type DashboardOptions,
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  startDashboard,
} from './dashboard/dashboard.js';
export type {
  DashboardHistory,
  DashboardSnapshot,
  DashboardWorker,
  HandlerFigures,
  HistorySample,
  RedisStatus,
  WorkerState,
} from './dashboard/wire.js';
export { signedControl } from './signed-control.js';
export { type StatsReport, statsReport, type WorkerStatsEntry } from './stats-report.js';
export {
  partsOf,
  rollUp,
  rollUpByHandler,
  rollUpWorker,
  type StatsPart,
  type StatsRollup,
} from './stats-rollup.js';
export {
  type ControlRedis,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_REWEIGHT_TIMEOUT_MS,
  type DrainOutcome,
  drainWorker,
  type ReweightOutcome,
  resetWeight,
  reweightWorker,
} from './worker-control.js';
export { type WorkerRow, workerRows } from './worker-rows.js';
