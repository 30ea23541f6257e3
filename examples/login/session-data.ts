// The example's session shape, declared once: every session.get/set and flash call in the app is
// checked against it (a misspelled key or a wrong value type fails `npm run typecheck`).
declare module 'nova-ts' {
  interface SessionData {
    username: string;
  }
  interface FlashData {
    info: string;
  }
}

export {};
