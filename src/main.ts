#!/usr/bin/env bun
// The entry point. `serve` re-executes itself once with its allocator setting (runtime.ts); doing it
// here, before the commands and all they import are loaded, spares that load in the process that
// is replaced.
import { tuneAllocatorForServe } from './runtime.ts';

if (process.argv[2] === 'serve' || process.argv[2] === 'portable') tuneAllocatorForServe();
await import('./cli/main.ts');
