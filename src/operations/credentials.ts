import { DEFAULT_ADMIN_PASSWORD, DEMO_ACCOUNT, modemConfigs, type Config } from '../config/config.js';
import { refuse, type Refusal } from './outcome.js';

/**
 * Factory credentials (the README prints them) are for trying the box out on
 * the virtual HAT. With a real modem they would let anyone on the shop LAN
 * send SMS from the shop's SIM, so there they open nothing: an account whose
 * password is still `bbbb` answers `0`, and the admin password `smsbox` only
 * opens the page that replaces it.
 */

export const FACTORY_ACCOUNT_PASSWORD = DEMO_ACCOUNT.password;
export const FACTORY_ADMIN_PASSWORD = DEFAULT_ADMIN_PASSWORD;

/** A real modem: anything but the virtual HAT, so SMS leave the box (any one of a pool). */
export function hasRealModem(config: Config): boolean {
  return modemConfigs(config).some((m) => m.device !== 'simulator');
}

/** The accounts of the config whose password is the factory one. */
export function accountsWithFactoryPassword(config: Config): string[] {
  return config.accounts.filter((a) => a.password === FACTORY_ACCOUNT_PASSWORD).map((a) => a.user);
}

/** `user` may not log in over WDGJ: its password is the factory one and a real modem is fitted. */
export function factoryAccountBlocked(config: Config, user: string): boolean {
  return hasRealModem(config) && config.accounts.some((a) => a.user === user && a.password === FACTORY_ACCOUNT_PASSWORD);
}

/** The admin password is the factory one and a real modem is fitted: only the change-password page opens. */
export function factoryAdminBlocked(config: Config): boolean {
  return hasRealModem(config) && config.admin.password === FACTORY_ADMIN_PASSWORD;
}

export const FACTORY_ACCOUNT_TEXT = {
  zh: '出厂密码不能用于真实短信模块，请在配置文件中修改',
  en: 'the factory password cannot be used with a real modem; change it in the config file',
} as const;

export function factoryAccountRefusal(user: string): Refusal<'factory-password'> {
  return refuse('factory-password',
    `账号 ${user} 仍在使用出厂密码：${FACTORY_ACCOUNT_TEXT.zh}（[[account]] password）`,
    `account ${user} still has the factory password: ${FACTORY_ACCOUNT_TEXT.en} ([[account]] password)`, 403);
}

export function factoryAdminRefusal(): Refusal<'factory-password'> {
  return refuse('factory-password',
    '管理密码仍是出厂密码，不能用于真实短信模块：请在浏览器中登录本机并设置新密码，或修改配置文件中的 [admin] password',
    'the admin password is still the factory one, which cannot be used with a real modem: log in with a browser and choose a new one, or change [admin] password in the config file',
    403);
}

/** A new password must not be a factory one while a real modem is fitted (it would lock itself out). */
export function refuseFactoryPassword(config: Config, password: string, kind: 'admin' | 'account'): Refusal<'factory-password'> | null {
  if (!hasRealModem(config)) return null;
  const factory = kind === 'admin' ? FACTORY_ADMIN_PASSWORD : FACTORY_ACCOUNT_PASSWORD;
  if (password !== factory) return null;
  return refuse('factory-password', '新密码不能是出厂密码（本机接有真实短信模块），请换一个', 'the new password cannot be the factory one (a real modem is fitted); choose another', 400);
}
