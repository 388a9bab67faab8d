/**
 * 0005_chord_claim_deadline: chord claims carry a deadline and a dispatched flag.
 *
 * - `claim_expires_at`: until when the current claim holds; past it, a claim that was never
 *   marked dispatched (its holder died between the claim and the publish) can be taken again.
 *   Claims written before this migration have none and count as lapsed.
 * - `dispatched`: the callback was published; the chord is never claimed again.
 */
export const sql = /* sql */ `
ALTER TABLE canvas_groups
  ADD COLUMN claim_expires_at timestamptz,
  ADD COLUMN dispatched boolean NOT NULL DEFAULT false;
`;
