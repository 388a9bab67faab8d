import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { StemModuleOptions } from './interfaces/stem-module-options.interface.js';

/** Extra options of `forRoot`/`forRootAsync` that shape the module itself. */
export interface StemModuleExtras {
  /** Register the module globally so `StemClient` is injectable everywhere. @default false */
  readonly isGlobal?: boolean;
}

/**
 * The module builder's output: the base class behind `StemModule.forRoot/forRootAsync`, the
 * injection token of the resolved options (`STEM_MODULE_OPTIONS`), and the option types.
 */
export const {
  ConfigurableModuleClass: StemConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: STEM_MODULE_OPTIONS,
  OPTIONS_TYPE: STEM_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: STEM_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<StemModuleOptions>({ moduleName: 'Stem' })
  .setClassMethodName('forRoot')
  .setExtras<StemModuleExtras>({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
