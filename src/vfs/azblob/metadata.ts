// Azure metadata names must be C# identifiers (letters, digits, "_"), so the contract's dashed keys
// (MTIME_METADATA_KEY is "sftpgo-mtime") are stored with "_" and mapped back on the way out. Names
// are case-insensitive on Azure; the contract wants them lower-case.
import { MTIME_METADATA_KEY } from '../object/client.ts';

/** Contract key -> Azure name, for keys whose mapping must be reversible. */
const TO_AZURE: Record<string, string> = { [MTIME_METADATA_KEY]: 'sftpgo_mtime' };
const FROM_AZURE: Record<string, string> = Object.fromEntries(Object.entries(TO_AZURE).map(([k, v]) => [v, k]));

/** Other keys: any character outside [a-z0-9_] becomes "_", and a leading digit gets a "_". */
function azureName(key: string): string {
  const k = key.toLowerCase();
  return TO_AZURE[k] ?? k.replace(/[^a-z0-9_]/g, '_').replace(/^(?=\d)/, '_');
}

export function toAzureMetadata(metadata: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!metadata) return undefined;
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [azureName(k), v]));
}

export function fromAzureMetadata(metadata: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!metadata) return undefined;
  return Object.fromEntries(
    Object.entries(metadata).map(([k, v]) => {
      const lower = k.toLowerCase();
      return [FROM_AZURE[lower] ?? lower, v];
    }),
  );
}
