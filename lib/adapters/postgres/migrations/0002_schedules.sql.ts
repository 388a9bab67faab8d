/**
 * 0002_schedules: the Beat schedule store's table.
 *
 * One row per entry: the entry as JSON plus the columns the queries filter and order on
 * (`version` for compare-and-set, `enabled`/`source` for `list`, `next_run_at` in epoch ms for
 * `due`, through a partial index of enabled entries). `id` uses the "C" collation so entries list
 * in code-point order on every server.
 */
export const sql = /* sql */ `
CREATE TABLE schedules (
  id          text COLLATE "C" PRIMARY KEY,
  version     integer NOT NULL,
  enabled     boolean NOT NULL,
  source      text NOT NULL,
  next_run_at double precision,
  entry       json NOT NULL
);
CREATE INDEX schedules_due_idx ON schedules (next_run_at, id) WHERE enabled AND next_run_at IS NOT NULL;
`;
