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
  partsOf,
  rollUp,
  rollUpByHandler,
  rollUpWorker,
  type StatsPart,
  type StatsRollup,
} from './stats-rollup.js';
