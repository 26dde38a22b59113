/**
 * Calls: caller identification (+CLIP) and the call-control commands
 * (ATD, ATA, ATH). Voice calls are outside what the box needs; a SIM7600
 * would dial, the virtual one answers ERROR.
 */
import type { ParsedCommand } from '../at-parse.js';
import { numericSetting, type Behaviour, type Handled } from '../behaviour.js';
import { plainError } from '../errors.js';

export class CallsBehaviour implements Behaviour {
  readonly name = 'calls';
  private clip = 0;

  resetSettings(): void {
    this.clip = 0;
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    switch (command.name) {
      case 'D':
        return plainError();
      case 'H':
      case 'A':
        return [];
      case '+CLIP':
        if (command.form === 'read') return [`+CLIP: ${this.clip},1`];
        return numericSetting(command, '+CLIP', 0, 1, () => this.clip, (v) => (this.clip = v));
      default:
        return undefined;
    }
  }
}
