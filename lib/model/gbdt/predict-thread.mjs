// Entry of a prediction helper thread: registers tsx (worker threads do not inherit the parent's loader),
// then runs the TypeScript loop.
import { register } from 'tsx/esm/api';

register();
await import('./predict-thread.ts');
