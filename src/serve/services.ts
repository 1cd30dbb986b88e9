// Every service `serve` can run, in start order. Each decides from the config whether it is enabled.
import { apiService } from '../api/service.ts';
import { ftpService } from '../protocols/ftp/service.ts';
import { sftpService } from '../protocols/sftp/service.ts';
import { webdavService } from '../protocols/webdav/service.ts';
import type { ServiceFactory } from './service.ts';

export const SERVICES: ServiceFactory[] = [sftpService, ftpService, webdavService, apiService];
