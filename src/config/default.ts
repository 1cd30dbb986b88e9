// The config used when no file is given: SFTP on loopback, data under ./data, and one user, demo,
// whose password is generated on first start and printed once.
export const DEFAULT_CONFIG_YAML = `# Embedded default config (sftpgo serve with no --config).
sftpd:
  bindings: [{ address: 127.0.0.1, port: 2022 }]
data_provider:
  data_dir: ./data
users:
  - username: demo
    password: { generate: true }
    permissions: { "/": ["*"] }
`;

export const DEFAULT_CONFIG_NAME = '<embedded default>';
