export * from './basic-auth.guard.js';
export * from './dashboard-audit.js';
export * from './dashboard-handler.js';
export * from './dashboard-security.js';
export * from './dashboard.options.js';
export * from './errors/dashboard-action.error.js';
export * from './nest/stem-dashboard.module.js';
export * from './nest/stem-dashboard.options.js';
