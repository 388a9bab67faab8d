import { Module } from '@nestjs/common';
import { StemModule } from 'nestjs-stem';

// #region module
@Module({
  imports: [
    StemModule.forRoot({
      broker: 'rediss://redis.internal:6380', // rediss:// is TLS
      backend: 'postgres://stem@db.internal:5432/app?sslmode=verify-full', // TLS, certificate and host name checked
      // PEM file paths (or the PEM text); cert and key only where the server asks for a client certificate
      tls: { ca: '/etc/stem/ca.pem', cert: '/etc/stem/client.pem', key: '/etc/stem/client.key' },
    }),
  ],
})
export class TlsAppModule {}
// #endregion
