// Entry of the training thread. Worker threads do not inherit the parent's TypeScript loader, so this
// plain-JS file registers tsx (resolved from here, whatever the cwd) before loading the thread's code.
import { register } from 'tsx/esm/api';

register();
await import('./train-thread.ts');
