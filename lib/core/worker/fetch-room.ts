/**
 * How many deliveries the worker's fetch loop asks for now: the free slots plus the free
 * prefetch places, or 0 while deliveries are still prefetched and less than half the prefetch
 * is free. A worker whose slots are all busy thus refills its prefetch in batches instead of one
 * fetch per finished task, and one with nothing prefetched fetches at once, so no slot waits.
 *
 * @param slots the concurrency cap
 * @param prefetch deliveries fetched ahead of free slots
 * @param running deliveries in slots
 * @param buffered deliveries fetched and waiting for a slot
 */
export function fetchRoom(slots: number, prefetch: number, running: number, buffered: number): number {
  const room = slots + prefetch - running - buffered;
  return buffered > 0 && room < Math.ceil(prefetch / 2) ? 0 : room;
}
