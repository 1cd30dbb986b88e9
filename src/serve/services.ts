// Every service `serve` can run, in start order. Each decides from the config whether it is enabled.
import type { ServiceFactory } from './service.ts';

export const SERVICES: ServiceFactory[] = [];
