/**
 * The modules the virtual HAT can behave as: the three HAT profiles of
 * hardware/hats/. They differ where issue 17 looks: the vendor command that
 * names the access technology, the switch that turns IMS (VoLTE) on, the
 * URCs after boot, and what a 2G-only module lacks. Answers follow
 * /work/coord/at-contract.md (SIMCom SIM7500/SIM7600 AT Command Manual V2.00,
 * Quectel EC25&EC21 AT Commands Manual V1.3, SIMCom SIM800 Series AT Command
 * Manual, 3GPP TS 27.007).
 */
import type { ModemIdentity } from './types.js';

export type ModuleProfileName = 'sim7600' | 'ec25' | 'sim868';
export const MODULE_PROFILES: readonly ModuleProfileName[] = ['sim7600', 'ec25', 'sim868'];

export interface ModuleProfile {
  name: ModuleProfileName;
  identity: Omit<ModemIdentity, 'imsi' | 'iccid'>;
  /** Radio access technologies the module has. */
  lte: boolean;
  umts: boolean;
  /** SIMCom's AT+CPSI? (system information). */
  cpsi: boolean;
  /** Quectel's AT+QNWINFO. */
  qnwinfo: boolean;
  /** 3GPP AT+CIREG (IMS registration). */
  cireg: boolean;
  /** How IMS is switched on, if the module can: Quectel AT+QCFG="ims", SIMCom AT+VOLTESETTING. */
  imsSwitch: 'qcfg' | 'voltesetting' | null;
  /** URCs after RDY and +CPIN: READY, once SMS is ready. */
  readyUrcs: readonly string[];
  /** SIMCom prints `MISSED_CALL: <time> <number>` when a caller gives up. */
  missedCallUrc: boolean;
}

export const PROFILES: Readonly<Record<ModuleProfileName, ModuleProfile>> = {
  sim7600: {
    name: 'sim7600',
    identity: {
      manufacturer: 'SIMCOM INCORPORATED',
      model: 'SIMCOM_SIM7600G-H',
      revision: 'LE20B04SIM7600G22',
      imei: '862636050000001',
    },
    lte: true,
    umts: true,
    cpsi: true,
    qnwinfo: false,
    cireg: true,
    imsSwitch: 'voltesetting',
    readyUrcs: ['SMS DONE', 'PB DONE'],
    missedCallUrc: true,
  },
  ec25: {
    name: 'ec25',
    identity: {
      manufacturer: 'Quectel',
      model: 'EC25',
      revision: 'EC25EFAR06A08M4G',
      imei: '866758040000001',
    },
    lte: true,
    umts: true,
    cpsi: false,
    qnwinfo: true,
    cireg: true,
    imsSwitch: 'qcfg',
    readyUrcs: ['+QIND: SMS DONE', '+QIND: PB DONE'],
    missedCallUrc: false,
  },
  sim868: {
    name: 'sim868',
    identity: {
      manufacturer: 'SIMCOM_Ltd',
      model: 'SIMCOM_SIM868',
      revision: 'Revision:1418B05SIM868M32',
      imei: '869012030000001',
    },
    lte: false,
    umts: false,
    cpsi: false,
    qnwinfo: false,
    cireg: false,
    imsSwitch: null,
    readyUrcs: ['Call Ready', 'SMS Ready'],
    missedCallUrc: false,
  },
};
