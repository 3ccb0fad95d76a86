#!/usr/bin/env node
// The trainyard CLI is TypeScript run through tsx, so the sources users read are the sources that run.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
