import { type CanActivate, type ExecutionContext, Injectable, Module } from '@nestjs/common';
import { StemModule } from 'nestjs-stem';
import { StemDashboardModule } from 'nestjs-stem/dashboard';

/** Lets in requests that carry the admin token (use your own auth: sessions, JWT, an SSO proxy). */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    if (!process.env.ADMIN_TOKEN || req.headers['x-admin-token'] !== process.env.ADMIN_TOKEN) return false;
    req.user = { username: 'admin' }; // the audit list records this name
    return true;
  }
}

@Module({
  imports: [
    StemModule.forRoot({ broker: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
    StemDashboardModule.forRoot({
      path: '/stem',
      guards: [AdminGuard], // without guards: loopback requests only
      readOnly: process.env.NODE_ENV === 'production',
      redact: (payload) => (payload && typeof payload === 'object' && 'card' in payload ? { ...payload, card: '•••• redacted' } : payload),
    }),
  ],
  providers: [AdminGuard],
})
export class AppModule {}
