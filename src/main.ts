#!/usr/bin/env bun
// The entry point. `serve` re-executes itself once with its allocator and JIT settings (runtime.ts); doing it
// here, before the commands and all they import are loaded, spares that load in the process that
// is replaced.
import { tuneRuntimeForServe } from './runtime.ts';

if (process.argv[2] === 'serve' || process.argv[2] === 'portable') tuneRuntimeForServe();
await import('./cli/main.ts');
