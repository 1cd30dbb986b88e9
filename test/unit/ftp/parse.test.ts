// The FTP control channel parsers (src/protocols/ftp/parse.ts).
import { describe, expect, test } from 'bun:test';
import { parseActiveTarget, parseRestOffset, splitCommand, stripTelnet, takeLines } from '../../../src/protocols/ftp/parse.ts';

describe('FTP control parsing', () => {
  test('lines: LF or CRLF, Telnet commands dropped, the unfinished rest kept', () => {
    const r = takeLines(Buffer.from('NOOP\xff\xf4\xff\xf2\r\nSTAT\xff\xff\nRE', 'latin1'));
    expect(r.lines).toEqual(['NOOP', 'STAT\ufffd']);
    expect(r.rest.toString()).toBe('RE');
    expect(takeLines(Buffer.alloc(9000, 0x41)).tooLong).toBe(true);
  });

  test('an overlong line is answered once over every chunk, and its end is dropped, not run', () => {
    const first = takeLines(Buffer.alloc(9000, 0x41));
    expect(first).toMatchObject({ lines: [], tooLong: true, skipping: true });
    const second = takeLines(Buffer.alloc(9000, 0x41), { skipping: first.skipping });
    expect(second).toMatchObject({ lines: [], tooLong: false, skipping: true });
    const end = takeLines(Buffer.from('AAA DELE x\r\nNOOP\r\n'), { skipping: second.skipping });
    expect(end).toMatchObject({ lines: ['NOOP'], tooLong: false, skipping: false });
  });

  test("lftp's abort (IAC IP, then IAC DM as urgent data, which leaves the stream) still reads ABOR", () => {
    expect(takeLines(Buffer.from('\xff\xf4\xffABOR\r\n', 'latin1')).lines).toEqual(['ABOR']);
    // With the DM inline (SO_OOBINLINE peers, or a client that sends it in band) too.
    expect(takeLines(Buffer.from('\xff\xf4\xff\xf2ABOR\r\n', 'latin1')).lines).toEqual(['ABOR']);
  });

  test('a Telnet WILL at the end of a line is dropped whole', () => {
    expect(stripTelnet(Buffer.from([0x41, 0xff, 0xfb])).toString()).toBe('A');
  });

  test('verb and argument', () => {
    expect(splitCommand('retr  my file ')).toEqual({ verb: 'RETR', arg: ' my file ' });
    expect(splitCommand('PWD')).toEqual({ verb: 'PWD', arg: '' });
  });

  test('PORT takes six decimal bytes; hex, exponents and empty fields are refused', () => {
    expect(parseActiveTarget('127,0,0,1,4,1', false)).toEqual({ host: '127.0.0.1', port: 1025 });
    for (const bad of ['0x7f,0,0,1,4,1', '127,0,0,1,4e0,1', '127,0,0,,4,1', '127,0,0,1,4', '127,0,0,1,256,1'])
      expect(parseActiveTarget(bad, false)).toEqual({ code: 501, message: 'Syntax error in PORT' });
    expect(parseActiveTarget('127,0,0,1,0,21', false)).toMatchObject({ code: 504 });
  });

  test('EPRT: any delimiter, address family 1 or 2, a decimal port', () => {
    expect(parseActiveTarget('|2|::1|65535|', true)).toEqual({ host: '::1', port: 65535 });
    expect(parseActiveTarget('!1!10.0.0.1!2000!', true)).toEqual({ host: '10.0.0.1', port: 2000 });
    expect(parseActiveTarget('|1|::1|2000|', true)).toMatchObject({ code: 522 });
    expect(parseActiveTarget('|1|10.0.0.1|0x7d0|', true)).toMatchObject({ code: 504 });
  });

  test('REST takes a plain non-negative integer', () => {
    expect(parseRestOffset(' 1024 ')).toBe(1024);
    for (const bad of ['-1', '1e3', '0x10', '', '9007199254740993']) expect(parseRestOffset(bad)).toBeUndefined();
  });
});
