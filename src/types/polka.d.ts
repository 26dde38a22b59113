// The parts of polka 0.5 the box uses. @types/polka describes polka through
// Express's types, which do not match polka's own request object.
declare module 'polka' {
  import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

  namespace polka {
    interface Request extends IncomingMessage {
      params: Record<string, string>;
      path: string;
      query: Record<string, string | string[]>;
    }
    type Next = (err?: unknown) => void;
    type Handler = (req: Request, res: ServerResponse, next: Next) => unknown;
    interface Options {
      server?: Server;
      onError?: (err: unknown, req: Request, res: ServerResponse, next: Next) => void;
      onNoMatch?: (req: Request, res: ServerResponse) => void;
    }
    interface Polka {
      readonly handler: RequestListener;
      use(...handlers: Handler[]): this;
      use(base: string, ...handlers: Handler[]): this;
      get(pattern: string, ...handlers: Handler[]): this;
      post(pattern: string, ...handlers: Handler[]): this;
      put(pattern: string, ...handlers: Handler[]): this;
      delete(pattern: string, ...handlers: Handler[]): this;
      listen(port: number, hostname?: string, callback?: () => void): this;
    }
  }
  function polka(options?: polka.Options): polka.Polka;
  export = polka;
}
