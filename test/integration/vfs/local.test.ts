// The local backend (the default one) under the shared Fs suite, on a temporary directory.
import { afterAll } from 'bun:test';
import { openLocalFs } from '../../../src/vfs/local/local-fs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { runFsSuite } from './suite.ts';

afterAll(() => removeTempDirs());

runFsSuite('local', async () => ({ fs: await openLocalFs(tempDir('vfs-local-')), cleanup: async () => {} }), { writesInPlace: true, cancellation: true });
