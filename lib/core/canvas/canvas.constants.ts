/** Meta keys written by canvas primitives and read by the worker. */
export const CanvasMeta = {
  /** Group id of a group member (also in header `stem-group-id`). */
  groupId: 'stem.group.id',
  /** 0-based position of a group member in the body. */
  groupIndex: 'stem.group.index',
  /** On a group: the chord callback call and its pre-assigned task id. */
  chordCallback: 'stem.chord.callback',
  /** On a chord callback: the body's results, in body order. */
  chordResults: 'stem.chord.results',
  /** On a chain step: `{ id, next }`, the chain id and the steps still to run. */
  chain: 'stem.chain',
  /** On a chain step or link callback: the result of the task before it. */
  parentResult: 'stem.parentResult',
  /** On a `linkError` callback: the error of the task that failed. */
  parentError: 'stem.parentError',
  /** On a batch's group: `{ taskIds }`, the member task ids in submission order. */
  batch: 'stem.batch',
  /** On a batch member: the batch id. */
  batchId: 'stem.batch.id',
  /** In the error of a batch member that was not enqueued (`true`): submitBatch reported it in `rejected`. */
  batchRejected: 'stem.batch.rejected',
  /** Calls to enqueue after success. */
  link: 'stem.link',
  /** Calls to enqueue after a terminal failure. */
  linkError: 'stem.linkError',
} as const;
