/**
 * 0003_canvas_groups: group and chord state of the canvas.
 *
 * One row per group: how many members it expects, the members' results as a JSON array in body
 * order (adding a result locks only that row), who claimed the chord callback, and `expires_at`
 * for the TTL.
 */
export const sql = /* sql */ `
CREATE TABLE canvas_groups (
  id         text PRIMARY KEY,
  expected   integer NOT NULL,
  meta       jsonb NOT NULL DEFAULT '{}'::jsonb,
  results    jsonb NOT NULL,
  claimed_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
`;
