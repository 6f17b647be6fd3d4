export * from './service-linked-role';
export * from './shared-function';
export * from './aspect';
