import { statfsSync } from 'node:fs';

/**
 * The free space where the database lives. Below DISK_FULL_BELOW_BYTES the box
 * says "disk full" (a fault verdict, the fault LED): SQLite needs room for its
 * WAL and for each transaction, so "full" comes before zero. Whether a message
 * is accepted is still decided by its commit alone: smsSnd answers `1` for what
 * could be committed and `3` once nothing can be.
 */
export const DISK_FULL_BELOW_BYTES = 8 * 1024 * 1024;

export interface StorageStatus {
  /** Bytes the box's (unprivileged) user can still write; null when unknown. */
  free_bytes: number | null;
  full: boolean;
}

export function storageStatus(dir: string): StorageStatus {
  try {
    const fs = statfsSync(dir);
    const free = Number(fs.bavail) * Number(fs.bsize);
    return { free_bytes: free, full: free < DISK_FULL_BELOW_BYTES };
  } catch {
    return { free_bytes: null, full: false };
  }
}
