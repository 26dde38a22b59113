// Renders /boot/firmware/network.toml (edited by the shop on Windows) into
// runtime network settings under /run, at every boot:
//   /run/systemd/network/10-smsbox-static.network   a static IPv4 address
//   /run/smsbox/wpa_supplicant-wlan0.conf           Wi-Fi network and country
// Nothing is written to the SD card, so removing a setting from the file is
// enough to undo it. A wrong value is reported in the journal and that part is
// skipped: the box then falls back to DHCP and still starts.
//
//   node netconfig.mjs /boot/firmware/network.toml /run
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const STATIC_FILE = 'systemd/network/10-smsbox-static.network';
const WIFI_FILE = 'smsbox/wpa_supplicant-wlan0.conf';

const isTable = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v) => (typeof v === 'string' ? v.trim() : v === undefined ? '' : null);

/**
 * Pure: the parsed network.toml → the files to write (paths relative to /run),
 * the Wi-Fi regulatory country, and bilingual messages for every value skipped.
 */
export function renderNetwork(settings) {
  const files = {};
  const messages = [];
  let country = null;
  const wifi = isTable(settings.wifi) ? settings.wifi : {};
  const stat = isTable(settings.static_ip) ? settings.static_ip : {};

  const countryText = text(wifi.country);
  const ssid = text(wifi.ssid);
  const password = typeof wifi.password === 'string' ? wifi.password : wifi.password === undefined ? '' : null;
  if (countryText === null || (countryText !== '' && !/^[A-Za-z]{2}$/.test(countryText))) {
    messages.push(`[wifi] country 应为两个字母的国家代码，例如 "CN" / must be a two-letter country code such as "CN": ${JSON.stringify(wifi.country)}`);
  } else if (countryText !== '') {
    country = countryText.toUpperCase();
  }
  if (ssid === null) {
    messages.push('[wifi] ssid 应为文字 / must be text in double quotes');
  } else if (ssid !== '') {
    const ssidBytes = Buffer.byteLength(ssid, 'utf8');
    const passwordOk =
      password !== null &&
      (password === '' || (/^[\x20-\x7e]{8,63}$/.test(password)) || /^[0-9a-fA-F]{64}$/.test(password));
    if (ssidBytes > 32) {
      messages.push(`[wifi] ssid 太长（最多 32 字节）/ too long (at most 32 bytes): ${ssid}`);
    } else if (!passwordOk) {
      messages.push('[wifi] password 应为 8-63 个英文字符，开放网络写 "" / must be 8 to 63 ASCII characters, or "" for an open network');
    } else if (country === null) {
      messages.push('[wifi] 使用 Wi-Fi 需要填写 country，例如 "CN" / Wi-Fi needs country, e.g. "CN"');
    } else {
      const lines = [
        '# written at boot from /boot/firmware/network.toml by smsbox-netconfig',
        `country=${country}`,
        'network={',
        // Hex SSID: any bytes (Chinese names, quotes) without escaping rules.
        `\tssid=${Buffer.from(ssid, 'utf8').toString('hex')}`,
        '\tscan_ssid=1',
      ];
      if (password === '') lines.push('\tkey_mgmt=NONE');
      else if (/^[0-9a-fA-F]{64}$/.test(password)) lines.push(`\tpsk=${password.toLowerCase()}`);
      else lines.push(`\tpsk="${password}"`, '\tkey_mgmt=WPA-PSK WPA-PSK-SHA256 SAE', '\tieee80211w=1');
      lines.push('}', '');
      files[WIFI_FILE] = lines.join('\n');
    }
  }

  const address = text(stat.address);
  if (address === null) {
    messages.push('[static_ip] address 应为文字，例如 "192.168.1.50/24" / must be text such as "192.168.1.50/24"');
  } else if (address !== '') {
    const [ip, prefix = '24', extra] = address.split('/');
    const iface = text(stat.interface) || 'eth0';
    const gateway = text(stat.gateway);
    const dns = stat.dns === undefined ? [] : Array.isArray(stat.dns) ? stat.dns.map(text) : [text(stat.dns)];
    const prefixNumber = Number(prefix);
    if (extra !== undefined || !IPV4.test(ip) || !/^\d{1,2}$/.test(prefix) || prefixNumber < 1 || prefixNumber > 32) {
      messages.push(`[static_ip] address 格式错误，例如 "192.168.1.50/24" / must look like "192.168.1.50/24": ${address}`);
    } else if (!/^(eth|wlan|en)[0-9a-z]*$/.test(iface)) {
      messages.push(`[static_ip] interface 应为 "eth0" 或 "wlan0" / must be "eth0" or "wlan0": ${iface}`);
    } else if (gateway === null || (gateway !== '' && !IPV4.test(gateway))) {
      messages.push(`[static_ip] gateway 应为 IP 地址，例如 "192.168.1.1" / must be an IP address such as "192.168.1.1": ${JSON.stringify(stat.gateway)}`);
    } else if (dns.some((d) => d === null || !IPV4.test(d))) {
      messages.push(`[static_ip] dns 应为 IP 地址列表，例如 ["223.5.5.5"] / must be a list of IP addresses such as ["223.5.5.5"]: ${JSON.stringify(stat.dns)}`);
    } else {
      const lines = [
        '# written at boot from /boot/firmware/network.toml by smsbox-netconfig',
        '[Match]',
        `Name=${iface}`,
        '',
        '[Network]',
        `Address=${ip}/${prefixNumber}`,
        ...(gateway ? [`Gateway=${gateway}`] : []),
        ...dns.map((d) => `DNS=${d}`),
        'LinkLocalAddressing=ipv4',
        '',
      ];
      files[STATIC_FILE] = lines.join('\n');
    }
  }
  return { files, country, messages };
}

async function main([file, runDir = '/run']) {
  const appDir = process.env.SMSBOX_APP ?? '/opt/smsbox';
  const { parse } = await import(join(appDir, 'node_modules/smol-toml/dist/index.js'));
  let settings = {};
  try {
    settings = parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err.code === 'ENOENT') console.log(`${file}: 没有网络设置文件，使用自动获取 (DHCP) / no network file: DHCP`);
    else console.error(`${file}: 网络设置文件有误，使用自动获取 (DHCP) / error, using DHCP: ${err.message}`);
  }
  const { files, country, messages } = renderNetwork(settings);
  for (const message of messages) console.error(`${file}: ${message}`);
  for (const stale of [STATIC_FILE, WIFI_FILE]) rmSync(join(runDir, stale), { force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(runDir, path)), { recursive: true });
    writeFileSync(join(runDir, path), content, { mode: 0o600 });
    console.log(`wrote ${join(runDir, path)}`);
  }
  if (files[STATIC_FILE]) {
    // networkd runs as its own user and must read its .network file.
    writeFileSync(join(runDir, STATIC_FILE), files[STATIC_FILE], { mode: 0o644 });
  }
  if (country && runDir === '/run') {
    try {
      execFileSync('iw', ['reg', 'set', country], { stdio: 'inherit' });
    } catch {
      console.error(`iw reg set ${country} failed (no Wi-Fi hardware?)`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err) => {
    // Never fail the boot over network settings.
    console.error(`smsbox-netconfig: ${err.stack ?? err}`);
  });
}
