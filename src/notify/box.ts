import { hostname, networkInterfaces } from 'node:os';
import type { BoxIdentity } from './message.js';

/**
 * The box's name and the status page's URL as messages show them: the host
 * name (the image sets it; avahi announces `<name>.local`), and the first LAN
 * IPv4 address, which a phone on the shop's Wi-Fi opens without mDNS; the
 * `.local` name when the box has no address yet.
 */
export function defaultBoxIdentity(port: number, interfaces = networkInterfaces(), host = hostname()): BoxIdentity {
  const name = host.split('.')[0] || 'smsbox';
  const portPart = port === 80 ? '' : `:${port}`;
  for (const addresses of Object.values(interfaces)) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal) return { name, url: `http://${a.address}${portPart}/` };
    }
  }
  return { name, url: `http://${name}.local${portPart}/` };
}
