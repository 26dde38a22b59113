/**
 * The modem's message memories. "SM" is the SIM, "ME" the module's own flash,
 * and "MT" the two seen as one (SIM locations first, then ME), as 27.005
 * defines it. Indices start at 0, as on the SIM7600.
 */

export type MemoryName = 'SM' | 'ME' | 'MT';
export const MEMORY_NAMES: readonly MemoryName[] = ['SM', 'ME', 'MT'];

/** 27.005 <stat> in PDU mode. */
export type MessageStat = 0 | 1 | 2 | 3;
export const STAT_REC_UNREAD = 0;
export const STAT_REC_READ = 1;
export const STAT_STO_UNSENT = 2;
export const STAT_STO_SENT = 3;

export interface StoredMessage {
  /** Full PDU as hex, starting with the SMSC information. */
  pdu: string;
  stat: MessageStat;
  kind: 'deliver' | 'status-report';
}

export interface StorageCapacity {
  SM: number;
  ME: number;
}

/** Length in octets of the TPDU, i.e. without the SMSC part: the `<length>` of +CMGL/+CMGR/+CMT. */
export function tpduLength(pduHex: string): number {
  const smscLength = parseInt(pduHex.slice(0, 2), 16);
  return pduHex.length / 2 - 1 - smscLength;
}

export class SmsStorage {
  private readonly slots: { SM: (StoredMessage | undefined)[]; ME: (StoredMessage | undefined)[] };

  constructor(readonly capacity: StorageCapacity) {
    this.slots = { SM: new Array(capacity.SM).fill(undefined), ME: new Array(capacity.ME).fill(undefined) };
  }

  total(mem: MemoryName): number {
    return mem === 'MT' ? this.capacity.SM + this.capacity.ME : this.capacity[mem];
  }

  used(mem: MemoryName): number {
    return this.list(mem).length;
  }

  /** Maps an index of a memory to the physical slot, or null when out of range. */
  private locate(mem: MemoryName, index: number): { physical: 'SM' | 'ME'; slot: number } | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.total(mem)) return null;
    if (mem === 'MT') {
      return index < this.capacity.SM ? { physical: 'SM', slot: index } : { physical: 'ME', slot: index - this.capacity.SM };
    }
    return { physical: mem, slot: index };
  }

  inRange(mem: MemoryName, index: number): boolean {
    return this.locate(mem, index) !== null;
  }

  get(mem: MemoryName, index: number): StoredMessage | undefined {
    const where = this.locate(mem, index);
    return where ? this.slots[where.physical][where.slot] : undefined;
  }

  set(mem: MemoryName, index: number, message: StoredMessage | undefined): void {
    const where = this.locate(mem, index);
    if (where) this.slots[where.physical][where.slot] = message;
  }

  /** Stores in the lowest free index of the memory; null when it is full. */
  store(mem: MemoryName, message: StoredMessage): number | null {
    for (let index = 0; index < this.total(mem); index++) {
      if (this.get(mem, index) === undefined) {
        this.set(mem, index, message);
        return index;
      }
    }
    return null;
  }

  list(mem: MemoryName): { index: number; message: StoredMessage }[] {
    const out: { index: number; message: StoredMessage }[] = [];
    for (let index = 0; index < this.total(mem); index++) {
      const message = this.get(mem, index);
      if (message) out.push({ index, message });
    }
    return out;
  }
}
