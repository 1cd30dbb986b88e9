// Every service `serve` can run, in start order. Each decides from the config whether it is enabled.
import { apiService } from '../api/service.ts';
import { defenderService } from '../core/defender-service.ts';
import { ftpService } from '../protocols/ftp/service.ts';
import { sftpService } from '../protocols/sftp/service.ts';
import { webdavService } from '../protocols/webdav/service.ts';
import type { ServiceFactory } from '../core/service.ts';

// The defender first: bans are loaded before any listener accepts, and saved after they all closed.
export const SERVICES: ServiceFactory[] = [defenderService, sftpService, ftpService, webdavService, apiService];
