import { ConfigurationError } from '../../core/errors/configuration.error.js';

/**
 * Key names of the Redis workflow store. Every key of one run shares the hash tag `{<runId>}`, so
 * each run script touches one cluster slot; the run indexes share `{wf}`; the watchers of a topic
 * share `{<topic>}`. Cross-slot steps are ordered so an index is a superset of the truth (an
 * entry is added before the run write and removed after it), and readers check each entry against
 * the run.
 *
 * - `<p>:wf:run:{id}` HASH of the run; `:order` LIST and `:steps` HASH of checkpoints; `:signals` LIST
 * - `<p>:wf:changed` pub/sub channel announcing run ends and rewinds (the message is the run id)
 * - `<p>:{wf}:runs` ZSET of every run by createdAt; `:runs:wf:<name>`, `:runs:parent:<id>` the same per workflow / parent
 * - `<p>:{wf}:active` ZSET of runs not ended, by when each may be runnable (recovery sweeps); `:active:v` HASH of their versions
 * - `<p>:{wf}:due` ZSET of suspended runs by resumeAt (claims re-score it)
 * - `<p>:{wf}:topics` SET of topics that had watchers; `<p>:{wf}:expiring` ZSET of ended runs by expiry
 * - `<p>:wf:topic:{<topic>}:watchers` ZSET of run ids waiting on the topic, by registration time
 */
export class RedisWorkflowKeys {
  private readonly base: string;

  constructor(readonly prefix: string) {
    this.base = `${prefix}:{wf}`;
  }

  /** The four keys of a run, in the order the run scripts take them. */
  run(runId: string): [run: string, order: string, steps: string, signals: string] {
    const run = `${this.runPrefix}${this.checkRunId(runId)}}`;
    return [run, `${run}:order`, `${run}:steps`, `${run}:signals`];
  }

  /** What a run's HASH name starts with: the HASH is this, the run id and `}`. */
  get runPrefix(): string {
    return `${this.prefix}:wf:run:{`;
  }

  /**
   * `runId`, when it can name run keys.
   * @throws ConfigurationError when it is empty or holds `{` or `}`
   */
  checkRunId(runId: string): string {
    if (runId.length === 0 || runId.includes('{') || runId.includes('}')) {
      throw new ConfigurationError('runId', `workflow run id "${runId}" must be non-empty and must not contain "{" or "}" (they form the Redis Cluster hash tag)`);
    }
    return runId;
  }

  /** Channel announcing that a run ended or was rewound; the message is the run id. */
  get changed(): string {
    return `${this.prefix}:wf:changed`;
  }

  /** What every run index key starts with (`<p>:{wf}`): scripts that write the indexes build their names from it. */
  get indexBase(): string {
    return this.base;
  }

  get runs(): string {
    return `${this.base}:runs`;
  }

  byWorkflow(workflow: string): string {
    return `${this.base}:runs:wf:${workflow}`;
  }

  byParent(parentRunId: string): string {
    return `${this.base}:runs:parent:${parentRunId}`;
  }

  get active(): string {
    return `${this.base}:active`;
  }

  get activeVersions(): string {
    return `${this.base}:active:v`;
  }

  get due(): string {
    return `${this.base}:due`;
  }

  get topics(): string {
    return `${this.base}:topics`;
  }

  get expiring(): string {
    return `${this.base}:expiring`;
  }

  /** Watchers of a topic (its own slot: a topic with `{`/`}` still maps to one fixed slot). */
  watchers(topic: string): string {
    return `${this.prefix}:wf:topic:{${topic}}:watchers`;
  }
}
