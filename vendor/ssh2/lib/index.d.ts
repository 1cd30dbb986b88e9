// Types for the vendored ssh2 copy: its API is upstream's, so reuse @types/ssh2. The CommonJS
// module.exports object is what an ES `import x from` yields in Node, Bun and Deno.
import type * as Ssh2 from 'ssh2';

declare const ssh2: typeof Ssh2;
export default ssh2;
