import { describe, expect, it } from 'vitest';
import { hostAllowed, parseAllowedHosts } from './allowed-hosts.ts';

describe('hostAllowed', () => {
  it('allows IP addresses, localhost, *.localhost and no Host at all', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:3000', '10.1.2.3:80', '[::1]:3000', '[::1]', 'localhost', 'LOCALHOST:3000', 'app.localhost:5173', 'localhost.', undefined, '']) {
      expect(hostAllowed(host, []), String(host)).toBe(true);
    }
  });

  it('refuses any other name unless listed', () => {
    for (const host of ['rebind.attacker.example', 'rebind.attacker.example:3000', 'localhost.attacker.example', '127.0.0.1.nip.io', 'chat.example.com']) {
      expect(hostAllowed(host, []), host).toBe(false);
    }
    expect(hostAllowed('chat.example.com:443', ['chat.example.com'])).toBe(true);
    expect(hostAllowed('CHAT.example.com', ['chat.example.com'])).toBe(true);
    expect(hostAllowed('evil.com', ['chat.example.com'])).toBe(false);
  });

  it('allows subdomains of a name listed with a leading dot, and anything with *', () => {
    expect(hostAllowed('a.example.com', ['.example.com'])).toBe(true);
    expect(hostAllowed('example.com', ['.example.com'])).toBe(true);
    expect(hostAllowed('badexample.com', ['.example.com'])).toBe(false);
    expect(hostAllowed('anything.example', ['*'])).toBe(true);
  });
});

describe('parseAllowedHosts', () => {
  it('reads comma-separated names, lower-cased', () => {
    expect(parseAllowedHosts(' Chat.Example.com, .internal ,*')).toEqual(['chat.example.com', '.internal', '*']);
    expect(parseAllowedHosts(undefined)).toEqual([]);
  });

  it('refuses a scheme, a port or a path, naming the variable', () => {
    for (const value of ['https://chat.example.com', 'chat.example.com:443', 'chat.example.com/x']) {
      expect(() => parseAllowedHosts(value)).toThrow(/SLUICE_ALLOWED_HOSTS/);
    }
  });
});
