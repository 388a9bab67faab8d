import { RedisScript } from '../redis.script.js';
import { HEARTBEAT_LIST_LUA, HEARTBEAT_RECORD_LUA, HEARTBEAT_REMOVE_LUA, PAUSE_SET_LUA, REVOKE_PRUNE_LUA, REVOKE_UPSERT_LUA } from './control.lua.js';
import { DEAD_LETTER_LUA, PURGE_DEAD_LETTER_REFS_LUA, PURGE_DEAD_LETTERS_LUA, REPLAY_DEAD_LETTERS_LUA } from './dead-letters.lua.js';
import { FETCH_LUA } from './fetch.lua.js';
import { CHORD_CLAIM_LUA, CHORD_DISPATCHED_LUA, CHORD_RELEASE_LUA, GROUP_ADD_LUA, GROUP_CREATE_LUA, GROUP_GET_LUA, GROUP_INIT_LUA } from './group.lua.js';
import { LOCK_ACQUIRE_LUA, LOCK_RELEASE_LUA, LOCK_RENEW_LUA } from './lock.lua.js';
import { PURGE_QUEUE_LUA, QUEUE_COUNTS_LUA, QUEUE_STATS_LUA, RELEASE_CONSUMER_LUA } from './queue-admin.lua.js';
import { STATUS_COUNTS_LUA, STATUS_SKIP_LUA } from './status-stats.lua.js';
import { PUBLISH_QUEUED_LUA } from './publish-queued.lua.js';
import { RATE_LIMIT_LUA } from './rate-limit.lua.js';
import { SCHEDULE_CAS_LUA, SCHEDULE_REMOVE_LUA } from './schedule.lua.js';
import { EXTEND_LEASE_LUA, NACK_LUA, PUBLISH_DELAYED_LUA } from './settle.lua.js';
import { ACK_MANY_LUA, PUBLISH_MANY_LUA } from './settle-many.lua.js';
import { STATUS_APPEND_META_LUA } from './status-append.lua.js';
import { WF_ACTIVE_DEFER_LUA, WF_ACTIVE_SCAN_LUA, WF_INDEX_ADD_LUA, WF_INDEX_SET_LUA } from './workflow-index.lua.js';
import { WF_CLAIM_LOAD_LUA, WF_END_LUA, WF_LEASE_LUA, WF_SIGNAL_SEND_LUA, WF_SIGNAL_TAKE_LUA } from './workflow-end.lua.js';
import { WF_BATCH_LUA } from './workflow-ops.lua.js';
import { WF_CREATE_LUA, WF_GET_LUA, WF_REWIND_LUA, WF_SAVE_STEP_LUA, WF_STEPS_LUA } from './workflow-run.lua.js';
import { WF_DUE_CLAIM_LUA, WF_DUE_FIX_LUA, WF_RESOLVE_LUA, WF_RESUME_LUA, WF_SUSPEND_LUA } from './workflow-suspend.lua.js';
import { STATUS_INDEX_LUA, STATUS_SET_LUA, STATUS_SET_MANY_LUA } from './status.lua.js';
import { STATUS_TOUCH_LUA, STATUS_UNWATCH_LUA, STATUS_WATCH_LUA } from './status-watch.lua.js';

/** Every Lua script of the Redis adapters (sources in `*.lua.ts`, each with a KEYS/ARGV header). */
export const scripts = {
  fetch: new RedisScript('fetch', FETCH_LUA),
  ackMany: new RedisScript('ack-many', ACK_MANY_LUA),
  publishMany: new RedisScript('publish-many', PUBLISH_MANY_LUA),
  publishQueued: new RedisScript('publish-queued', PUBLISH_QUEUED_LUA),
  nack: new RedisScript('nack', NACK_LUA),
  extendLease: new RedisScript('extend-lease', EXTEND_LEASE_LUA),
  publishDelayed: new RedisScript('publish-delayed', PUBLISH_DELAYED_LUA),
  deadLetter: new RedisScript('dead-letter', DEAD_LETTER_LUA),
  replayDeadLetters: new RedisScript('replay-dead-letters', REPLAY_DEAD_LETTERS_LUA),
  purgeDeadLetters: new RedisScript('purge-dead-letters', PURGE_DEAD_LETTERS_LUA),
  purgeDeadLetterRefs: new RedisScript('purge-dead-letter-refs', PURGE_DEAD_LETTER_REFS_LUA),
  purgeQueue: new RedisScript('purge-queue', PURGE_QUEUE_LUA),
  queueCounts: new RedisScript('queue-counts', QUEUE_COUNTS_LUA),
  queueStats: new RedisScript('queue-stats', QUEUE_STATS_LUA),
  statusCounts: new RedisScript('status-counts', STATUS_COUNTS_LUA),
  statusSkip: new RedisScript('status-skip', STATUS_SKIP_LUA),
  releaseConsumer: new RedisScript('release-consumer', RELEASE_CONSUMER_LUA),
  statusSet: new RedisScript('status-set', STATUS_SET_LUA),
  statusSetMany: new RedisScript('status-set-many', STATUS_SET_MANY_LUA),
  statusWatch: new RedisScript('status-watch', STATUS_WATCH_LUA),
  statusAppendMeta: new RedisScript('status-append-meta', STATUS_APPEND_META_LUA),
  statusUnwatch: new RedisScript('status-unwatch', STATUS_UNWATCH_LUA),
  statusTouch: new RedisScript('status-touch', STATUS_TOUCH_LUA),
  statusIndex: new RedisScript('status-index', STATUS_INDEX_LUA),
  lockAcquire: new RedisScript('lock-acquire', LOCK_ACQUIRE_LUA),
  lockRenew: new RedisScript('lock-renew', LOCK_RENEW_LUA),
  lockRelease: new RedisScript('lock-release', LOCK_RELEASE_LUA),
  rateLimit: new RedisScript('rate-limit', RATE_LIMIT_LUA),
  groupInit: new RedisScript('group-init', GROUP_INIT_LUA),
  groupCreate: new RedisScript('group-create', GROUP_CREATE_LUA),
  groupAdd: new RedisScript('group-add', GROUP_ADD_LUA),
  groupGet: new RedisScript('group-get', GROUP_GET_LUA),
  chordClaim: new RedisScript('chord-claim', CHORD_CLAIM_LUA),
  chordRelease: new RedisScript('chord-release', CHORD_RELEASE_LUA),
  chordDispatched: new RedisScript('chord-dispatched', CHORD_DISPATCHED_LUA),
  scheduleCas: new RedisScript('schedule-cas', SCHEDULE_CAS_LUA),
  scheduleRemove: new RedisScript('schedule-remove', SCHEDULE_REMOVE_LUA),
  wfCreate: new RedisScript('wf-create', WF_CREATE_LUA),
  wfGet: new RedisScript('wf-get', WF_GET_LUA),
  wfSaveStep: new RedisScript('wf-save-step', WF_SAVE_STEP_LUA),
  wfSteps: new RedisScript('wf-steps', WF_STEPS_LUA),
  wfRewind: new RedisScript('wf-rewind', WF_REWIND_LUA),
  wfSuspend: new RedisScript('wf-suspend', WF_SUSPEND_LUA),
  wfResolve: new RedisScript('wf-resolve', WF_RESOLVE_LUA),
  wfResume: new RedisScript('wf-resume', WF_RESUME_LUA),
  wfDueClaim: new RedisScript('wf-due-claim', WF_DUE_CLAIM_LUA),
  wfDueFix: new RedisScript('wf-due-fix', WF_DUE_FIX_LUA),
  wfEnd: new RedisScript('wf-end', WF_END_LUA),
  wfLease: new RedisScript('wf-lease', WF_LEASE_LUA),
  wfClaimLoad: new RedisScript('wf-claim-load', WF_CLAIM_LOAD_LUA),
  wfBatch: new RedisScript('wf-batch', WF_BATCH_LUA),
  wfSignalSend: new RedisScript('wf-signal-send', WF_SIGNAL_SEND_LUA),
  wfSignalTake: new RedisScript('wf-signal-take', WF_SIGNAL_TAKE_LUA),
  wfIndexAdd: new RedisScript('wf-index-add', WF_INDEX_ADD_LUA),
  wfIndexSet: new RedisScript('wf-index-set', WF_INDEX_SET_LUA),
  wfActiveScan: new RedisScript('wf-active-scan', WF_ACTIVE_SCAN_LUA),
  wfActiveDefer: new RedisScript('wf-active-defer', WF_ACTIVE_DEFER_LUA),
  revokeUpsert: new RedisScript('revoke-upsert', REVOKE_UPSERT_LUA),
  revokePrune: new RedisScript('revoke-prune', REVOKE_PRUNE_LUA),
  pauseSet: new RedisScript('pause-set', PAUSE_SET_LUA),
  heartbeatRecord: new RedisScript('heartbeat-record', HEARTBEAT_RECORD_LUA),
  heartbeatList: new RedisScript('heartbeat-list', HEARTBEAT_LIST_LUA),
  heartbeatRemove: new RedisScript('heartbeat-remove', HEARTBEAT_REMOVE_LUA),
} as const;
