// Prelude "session-data": the session shape of the sessions guide ("Typed session data"), so that
// fragments reading `username` get a string, as they would in the app that declares it.
// Not part of the project's compilation (see tsconfig.json "exclude").
declare module 'nova-ts' {
  interface SessionData {
    username: string;
    cart: { sku: string; qty: number }[];
  }
  interface FlashData {
    info: string;
  }
}

export {};
