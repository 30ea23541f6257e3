// Controllers take the request context and return a result value. A view's name is the
// controller's: `index` renders views/index.html.
import { session, status, view, type Context } from 'nova-ts';

/** The home page: counts this visitor's visits in their session. */
export async function index(ctx: Context) {
  const visits = ((await session.get(ctx, 'visits')) ?? 0) + 1;
  await session.set(ctx, 'visits', visits);
  return view({ visits });
}

/** Liveness, for a load balancer: 200 while the process answers. */
export function heartbeat() {
  return status(200);
}
