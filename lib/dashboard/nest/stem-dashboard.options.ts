import type { CanActivate, Type } from '@nestjs/common';
import type { DashboardGuard, DashboardOptions, DashboardSources } from '../dashboard.options.js';

/** Injection token of the {@link StemDashboardModuleOptions}. */
export const STEM_DASHBOARD_OPTIONS = Symbol.for('stem:dashboard-options');

/**
 * A guard of the dashboard: a Nest guard (class, resolved from the app or created, or instance),
 * run with the HTTP request as its execution context, or a plain {@link DashboardGuard} function.
 */
export type StemDashboardGuard = Type<CanActivate> | CanActivate | DashboardGuard;

/** Options of `StemDashboardModule.forRoot()`. */
export interface StemDashboardModuleOptions extends Omit<DashboardOptions, 'basePath' | 'guards'> {
  /** Where the dashboard is mounted. @default '/stem' */
  readonly path?: string;
  /**
   * Who may open it. Without guards it answers only loopback requests that came through no proxy.
   * A guard that sets `req.user` names the user in the audit list (`username`, `name`, `email` or `id`).
   */
  readonly guards?: readonly StemDashboardGuard[];
  /** The stores to show. @default those of the app's `StemModule` */
  readonly sources?: DashboardSources;
}
