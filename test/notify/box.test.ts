import test from 'ava';
import type { NetworkInterfaceInfo } from 'node:os';
import { defaultBoxIdentity } from '../../src/notify/box.js';

const iface = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }) as NetworkInterfaceInfo;

test('the box in messages: its host name and the first LAN address, else its .local name', (t) => {
  t.deepEqual(defaultBoxIdentity(8080, { lo: [iface('127.0.0.1', true)], eth0: [iface('192.168.1.50')] }, 'smsbox.lan'), { name: 'smsbox', url: 'http://192.168.1.50:8080/' });
  t.deepEqual(defaultBoxIdentity(80, { eth0: [iface('10.0.0.7')] }, 'shop'), { name: 'shop', url: 'http://10.0.0.7/' });
  t.deepEqual(defaultBoxIdentity(8080, { lo: [iface('127.0.0.1', true)] }, 'shop'), { name: 'shop', url: 'http://shop.local:8080/' });
});
