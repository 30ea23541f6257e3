/**
 * The public API of nova-ts. Everything a user imports comes from here.
 *
 * @module nova-ts
 */
export { createApp, type App, type AppReadiness } from './app.js';
export { loadConfig, type NovaConfig, type NovaConfigInput, type Logger, type SessionConfig, type ServerLimits, type TlsConfig } from './config.js';
export { Context } from './context.js';
export { NovaError, errors } from './errors.js';
export { closeOnSignals, type NovaServer } from './server.js';
export type { NodeRequest, NodeResponse } from './node-http.js';

export { view, ok, json, status, redirect, sendfile } from './results/result.js';
export { encodeRedirectTarget } from './results/redirect-target.js';
export type { ControllerResult, Result, CustomResult, Headers, Json } from './results/result.js';
export type { FallbackController } from './results/respond.js';
export { DEFAULT_SECURITY_HEADERS, type SecurityHeadersOptions, type SecurityHeaderName } from './results/security-headers.js';

export { allow, deny } from './security/security.js';
export type { SecurityFunction, SecurityOutcome, Allow, AuthDataOf } from './security/security.js';

export { METHODS, routeGroup } from './router/routes.js';
export type { Controller, Route, RouteGroup, RouteOptions, RoutesFunction, Method } from './router/routes.js';

export { stop, breakChain } from './plugins/plugin.js';
export type { Plugin, PluginOutcome } from './plugins/plugin.js';
export { requestPlugin } from './plugins/request.js';
export { cors } from './plugins/cors.js';
export { csrf, csrfToken, type CsrfOptions } from './plugins/csrf.js';
export { correlationId } from './plugins/correlation-id.js';
export { rateLimit, type RateLimitOptions } from './plugins/rate-limit.js';
export { memoryRateLimitStore, type MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from './plugins/rate-limit/memory-store.js';
export { redisRateLimitStore, type RedisRateLimitStoreOptions } from './plugins/rate-limit/redis-store.js';
export type { RateLimitStore, RateLimitAlgorithm, RateLimitHit, RateLimitRule } from './plugins/rate-limit/store.js';

export { createViewEngine } from './views/views.js';

export { staticFiles, staticFile, type StaticOptions } from './static/static-files.js';

export { session } from './session/api.js';
export { flash } from './session/flash.js';
export type { SessionData, FlashData, SessionKey, SessionValue, FlashKey, FlashValue, FlashMessages, JsonShaped } from './session/session-data.js';
export type { UserSession } from './session/user-sessions.js';
export type { SessionEvent, SessionEventType, SessionEventHook } from './session/events.js';
export type { SessionUserIndex, SessionTake, SessionMeta, SessionOwner, UserSessionInfo } from './session/users.js';
export { hashSessionId } from './session/id-hash.js';
export { memoryStore, type MemorySessionStore } from './session/stores/memory.js';
export type { SessionStore, SessionStoreOptions, StoreReadiness } from './session/store.js';
export { defaultMaxStoreBytes } from './session/store.js';
export type { SessionManager } from './session/manager.js';
export { redisStore } from './session/stores/redis.js';
export { postgresStore } from './session/stores/postgres.js';

export { replicatedStore } from './session/replication/store.js';
export type { ReplicatedSessionStore, ReplicatedStoreOptions } from './session/replication/store.js';
export type { ReplicationOptions } from './session/store-spec.js';
export { createPubSub, PubSub } from './pubsub/pubsub.js';
export type { BusSecret } from './pubsub/bus.js';
export type { Member, NodeMembers, PubSubMessage, PubSubOptions } from './pubsub/pubsub.js';
export type { Transport, Unsubscribe } from './pubsub/transport.js';
export { inProcessBus, type InProcessBus } from './pubsub/transports/in-process.js';
export { redisTransport, type RedisTransportOptions } from './pubsub/transports/redis.js';
export { natsTransport, type NatsTransportOptions, type NatsConnectionLike } from './pubsub/transports/nats.js';
export type { RedisClientLike } from './session/stores/redis-client-like.js';
export type { Pool as PgPoolLike, PoolClient as PgPoolClientLike, QueryResult as PgQueryResultLike } from './session/stores/pg-types.js';
export { clusterTransport, clusterHub, type ClusterTransportOptions } from './pubsub/transports/cluster.js';

// The types the exports above take and give, named so an app can write them down (`const options:
// CorsOptions = …`) and the API reference can link to them.
export type { Stop, Break } from './plugins/plugin.js';
export type { ViewResult, JsonResult, StatusResult, RedirectResult, SendfileResult, ViewOptions } from './results/result.js';
export type { Reply } from './results/reply.js';
export type { Deny } from './security/security.js';
export type { MatchedRoute } from './context.js';
export type { Router, RouteDescription } from './router/router.js';
export type { ViewEngine, ViewEngineOptions } from './views/views.js';
export type { RequestSession } from './session/request-session.js';
export type { SessionEvents } from './session/events.js';
export type { MemoryStoreTuning } from './session/stores/memory.js';
export type { RedisSessionStore, RedisStoreOptions } from './session/stores/redis.js';
export type { PostgresSessionStore } from './session/stores/postgres.js';
export type { PostgresStoreOptions } from './session/stores/postgres-core.js';
export type { CorsOptions } from './plugins/cors.js';
export type { CorrelationIdOptions } from './plugins/correlation-id.js';
export type { RequestPluginOptions } from './plugins/request.js';
