// Packaging stage: the container image, as an OCI image layout in `<out>/../oci` (dist/oci beside
// dist/packages), for this machine's arch only: the image holds the libraries `ldd` finds here, so
// an image for another arch is built on a machine of that arch (docs/packaging.md).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildImage } from './build.ts';
import { binaryPath, hostArch, stageContext } from '../stage.ts';

const ctx = stageContext(process.argv.slice(2));
const arch = hostArch();
if (!ctx.arches.includes(arch)) {
  console.log(`oci: skipped: the image is built for this machine's arch (${arch}), which --arch leaves out`);
} else {
  const binary = binaryPath(ctx, arch);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run the binaries stage first`);
  console.log(buildImage({ binary, version: ctx.version, out: join(dirname(ctx.outDir), 'oci'), epoch: ctx.epoch }));
}
