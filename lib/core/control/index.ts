export * from './control.messages.js';
export * from './control.replies.js';
export * from './control-channel.js';
export * from './broadcast-control-channel.js';
export * from './revocation.extension.js';
export * from './worker-control.js';
export * from './control-client.js';
