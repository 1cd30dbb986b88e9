// Every service `serve` can run, in start order. Each decides from the config whether it is enabled.
import { ftpService } from '../protocols/ftp/service.ts';
import { sftpService } from '../protocols/sftp/service.ts';
import type { ServiceFactory } from './service.ts';

export const SERVICES: ServiceFactory[] = [sftpService, ftpService];
