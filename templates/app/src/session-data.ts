// What this app keeps in a session, declared once: every session.get/set is checked against it.
declare module 'nova-ts' {
  interface SessionData {
    visits: number;
  }
}

export {};
