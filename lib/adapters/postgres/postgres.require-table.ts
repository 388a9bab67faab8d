import { PostgresMigrationError } from './errors/index.js';
import type { PostgresContext } from './postgres.connection.js';

/**
 * Fails with a message that says what to run when `table` is missing from the adapter's schema
 * (a store connected with `migrate: false` to a schema that was never migrated).
 */
export async function requireTable(ctx: PostgresContext, table: string): Promise<void> {
  const { rows } = await ctx.pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [`${ctx.s}.${table}`]);
  if (!rows[0]?.present) {
    throw new PostgresMigrationError(
      `Table "${ctx.schema}.${table}" does not exist. Run migratePostgres(url, { schema: '${ctx.schema}' }) once (or connect with migrate: true) before using this store.`,
    );
  }
}
