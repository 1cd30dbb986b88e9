// The secrets tests use: passwords, keys, passphrases, tokens, each a value that appears nowhere
// else, so scripts/leak-check.ts can grep every log and captured output of a run for them with no
// false hits. A test that sets a secret takes it from here; one made up inline escapes the check.
const SECRETS = {
  userPassword: 'Uq7-pw-Lynx-4821',
  otherUserPassword: 'Uq7-pw-Heron-3307',
  adminPassword: 'Ad9-pw-Osprey-6150',
  sharePassword: 'Sh4-pw-Marten-2294',
  s3AccessSecret: 'S3s-Wolverine-81Kd2aQ',
  gcsCredentials: 'Gc5-Badger-credential-5512',
  azureAccountKey: 'QXotS2V5LUthbmdhcm9vLTc3MTM=',
  sftpBackendPassword: 'Sfp-pw-Ibex-6034',
  sftpBackendKeyPassphrase: 'Pp2-Caracal-passphrase-9950',
  cryptPassphrase: 'Cr8-Pangolin-passphrase-1186',
  totpSecret: 'JBSWY3DPEHPK3PXPQUOKKAW7',
  hookPassword: 'Hk3-pw-Tapir-7741',
  eventHttpPassword: 'Ev6-pw-Okapi-4468',
  apiKey: 'Ak1Quokka9Vv2Wombat5Xx',
};

export const TEST_SECRETS: Readonly<Record<keyof typeof SECRETS, string>> = Object.freeze(SECRETS);

/** Every value to look for in logs and outputs. */
export function secretValues(): string[] {
  return Object.values(TEST_SECRETS);
}
