export * from './artifacts';
export * from './errors';
export * from './pipeline-input';
export * from './stage-config';
export * from './stage-results';
export * from './stages';
