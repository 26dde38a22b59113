import type { Duplex } from 'node:stream';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';

/** A serialport binding: the platform's, or one such as the virtual HAT's. */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

/**
 * Opens a serial port as a stream for the AT engine: on the platform's own
 * binding (a real UART or a pseudo-terminal) unless another binding, such as
 * the virtual HAT's, is given.
 */
export async function openSerialStream(options: { path: string; baudRate: number; binding?: SerialBinding }): Promise<Duplex> {
  const port = options.binding
    ? new SerialPortStream({ binding: options.binding, path: options.path, baudRate: options.baudRate, autoOpen: false })
    : new SerialPort({ path: options.path, baudRate: options.baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return port;
}
