'use strict';

const {
  AgentProtocol,
  BaseAgent,
  createAgent,
  CygwinAgent,
  OpenSSHAgent,
  PageantAgent,
} = require('./agent.js');
const {
  SSHTTPAgent: HTTPAgent,
  SSHTTPSAgent: HTTPSAgent,
} = require('./http-agents.js');
const { parseKey } = require('./protocol/keyParser.js');
const {
  flagsToString,
  OPEN_MODE,
  STATUS_CODE,
  stringToFlags,
} = require('./protocol/SFTP.js');

module.exports = {
  AgentProtocol,
  // [vendor] What runs chacha20-poly1305@openssh.com (see protocol/crypto.js)
  chachaImplementation: require('./protocol/crypto.js').chachaImplementation,
  BaseAgent,
  createAgent,
  Client: require('./client.js'),
  CygwinAgent,
  HTTPAgent,
  HTTPSAgent,
  OpenSSHAgent,
  PageantAgent,
  Server: require('./server.js'),
  utils: {
    parseKey,
    ...require('./keygen.js'),
    sftp: {
      flagsToString,
      OPEN_MODE,
      STATUS_CODE,
      stringToFlags,
    },
  },
};
