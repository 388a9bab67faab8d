import {
  type CanActivate,
  type DynamicModule,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type OnModuleDestroy,
  type OnModuleInit,
  RequestMethod,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObservable, lastValueFrom } from 'rxjs';
import type { StemAdapters } from '../../adapters/stem-adapters.factory.js';
import { ConfigurationError } from '../../core/errors/configuration.error.js';
import type { Stem } from '../../core/stem.js';
import { STEM_ADAPTERS, STEM_PRODUCER } from '../../nest/stem.constants.js';
import { createDashboardHandler, type DashboardHandler } from '../dashboard-handler.js';
import type { DashboardGuard, DashboardSources } from '../dashboard.options.js';
import { STEM_DASHBOARD_OPTIONS, type StemDashboardGuard, type StemDashboardModuleOptions } from './stem-dashboard.options.js';

function isGuardClass(guard: StemDashboardGuard): guard is Type<CanActivate> {
  return typeof guard === 'function' && typeof (guard.prototype as Partial<CanActivate> | undefined)?.canActivate === 'function';
}

function userOf(req: IncomingMessage): string | undefined {
  const user = (req as IncomingMessage & { user?: unknown }).user;
  if (typeof user === 'string') return user;
  if (user && typeof user === 'object') {
    const u = user as Record<string, unknown>;
    const name = u.username ?? u.name ?? u.email ?? u.id;
    return name === undefined ? undefined : String(name);
  }
  return undefined;
}

/**
 * Mounts the Stem dashboard in a Nest app (Express or Fastify) at `path`, on the stores of the
 * app's `StemModule`.
 *
 * @example
 * @Module({
 *   imports: [StemModule.forRoot({ broker: 'redis://127.0.0.1:6379' }), StemDashboardModule.forRoot({ path: '/stem', guards: [AdminGuard] })],
 * })
 * export class AppModule {}
 */
@Module({})
export class StemDashboardModule implements NestModule, OnModuleInit, OnModuleDestroy {
  private handler?: DashboardHandler;

  constructor(
    @Inject(STEM_DASHBOARD_OPTIONS) private readonly options: StemDashboardModuleOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Configures the dashboard; see {@link StemDashboardModuleOptions}. */
  static forRoot(options: StemDashboardModuleOptions = {}): DynamicModule {
    return { module: StemDashboardModule, providers: [{ provide: STEM_DASHBOARD_OPTIONS, useValue: options }] };
  }

  /** The mount path, with a leading and no trailing slash. */
  get path(): string {
    const path = `/${(this.options.path ?? '/stem').replace(/^\/+|\/+$/g, '')}`;
    if (path === '/') throw new ConfigurationError('path', 'the dashboard needs a path of its own, such as "/stem"');
    return path;
  }

  async onModuleInit(): Promise<void> {
    const sources = this.options.sources ?? this.appSources();
    const guards = await Promise.all((this.options.guards ?? []).map((g) => this.toGuard(g)));
    const { path: _path, guards: _guards, sources: _sources, ...rest } = this.options;
    this.handler = createDashboardHandler(sources, { ...rest, basePath: this.path, ...(guards.length ? { guards } : {}) });
  }

  onModuleDestroy(): void {
    this.handler?.close();
  }

  configure(consumer: MiddlewareConsumer): void {
    const middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
      if (!this.handler) return next();
      void this.handler(req, res);
    };
    consumer.apply(middleware).forRoutes({ path: this.path, method: RequestMethod.ALL }, { path: `${this.path}/*path`, method: RequestMethod.ALL });
  }

  private appSources(): DashboardSources {
    let adapters: StemAdapters;
    try {
      adapters = this.moduleRef.get<StemAdapters>(STEM_ADAPTERS, { strict: false });
    } catch {
      throw new ConfigurationError('sources', 'StemDashboardModule found no StemModule in the app; import StemModule.forRoot() next to it or pass sources');
    }
    let producer: Stem | undefined;
    try {
      producer = this.moduleRef.get<Stem>(STEM_PRODUCER, { strict: false });
    } catch {
      producer = undefined;
    }
    return {
      broker: adapters.broker,
      backend: adapters.backend,
      controlStore: adapters.revokeStore,
      scheduleStore: adapters.scheduleStore,
      workflowStore: adapters.workflowStore,
      groupStore: adapters.groupStore,
      ...(producer ? { producer } : {}),
    };
  }

  private async toGuard(guard: StemDashboardGuard): Promise<DashboardGuard> {
    let instance: CanActivate | undefined;
    if (isGuardClass(guard)) {
      try {
        instance = this.moduleRef.get(guard, { strict: false });
      } catch {
        instance = await this.moduleRef.create(guard);
      }
    } else if (typeof guard === 'object') instance = guard;
    if (!instance) return guard as DashboardGuard;
    const nestGuard = instance;
    return async (req) => {
      const context = new ExecutionContextHost([req, undefined, undefined], StemDashboardModule, this.configure);
      context.setType('http');
      const verdict = nestGuard.canActivate(context);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
      return allowed ? (userOf(req) ?? true) : false;
    };
  }
}
