/**
 * Entry point for running the virtual HAT on a pseudo-terminal without the rest
 * of the box: `node dist/hardware/simulator/main.js --link /tmp/ttyV0`.
 * `smsbox simulate-modem` runs the same command.
 */
import { simulateModemCommand } from './cli.js';

const code = await simulateModemCommand(process.argv.slice(2));
// stdin may still hold the event loop open after the command has finished.
process.exit(code);
