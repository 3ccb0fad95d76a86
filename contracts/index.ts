export * from './artifacts';
export * from './errors';
export * from './pipeline-input';
export * from './stages';
