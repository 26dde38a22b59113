/**
 * The part of johnny-five 2.1 the box uses, typed from its source
 * (lib/board.js, lib/led/led.js, lib/pin.js) rather than @types/johnny-five,
 * whose Board options lack `sigint` and whose Pin options lack `mode`.
 */
declare module 'johnny-five' {
  import type { EventEmitter } from 'node:events';

  interface BoardOptions {
    io: unknown;
    id?: string;
    repl?: boolean;
    debug?: boolean;
    sigint?: boolean;
    /** Time from "connect" to "ready" before the board reports an error (default 10 s). */
    timeout?: number;
  }

  class Board extends EventEmitter {
    constructor(options: BoardOptions);
    readonly io: unknown;
    readonly id: string;
    isReady: boolean;
  }

  interface ComponentOptions {
    pin: number | string;
    board: Board;
    id?: string;
  }

  class Led {
    constructor(options: ComponentOptions);
    readonly pin: number;
    readonly isOn: boolean;
    readonly value: number | null;
    on(): this;
    off(): this;
    toggle(): this;
    blink(ms?: number): this;
    stop(): this;
  }

  interface PinOptions extends ComponentOptions {
    type?: 'digital' | 'analog';
    /** 0 INPUT, 1 OUTPUT. */
    mode?: number;
  }

  class Pin extends EventEmitter {
    constructor(options: PinOptions);
    readonly addr: number;
    readonly value: number;
    mode: number;
    high(): this;
    low(): this;
  }

  const five: { Board: typeof Board; Led: typeof Led; Pin: typeof Pin };
  export default five;
  export { Board, Led, Pin };
}
