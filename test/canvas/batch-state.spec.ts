import { describe, expect, it } from 'vitest';
import { batchState, type TaskState } from '../../lib/core/index.js';

const counts = (c: Partial<Record<TaskState, number>>): Record<TaskState, number> => ({ queued: 0, running: 0, retried: 0, succeeded: 0, failed: 0, cancelled: 0, ...c });

describe('batchState', () => {
  it.each([
    [{ queued: 3 }, 'pending'],
    [{ queued: 2, running: 1 }, 'running'],
    [{ queued: 2, retried: 1 }, 'running'],
    [{ queued: 2, failed: 1 }, 'running'],
    [{ succeeded: 3 }, 'succeeded'],
    [{ failed: 3 }, 'failed'],
    [{ cancelled: 3 }, 'cancelled'],
    [{ succeeded: 2, cancelled: 1 }, 'partial'],
    [{ failed: 2, cancelled: 1 }, 'partial'],
  ] as const)('%o of 3 members is %s', (c, state) => {
    expect(batchState(counts(c), 3)).toBe(state);
  });
});
