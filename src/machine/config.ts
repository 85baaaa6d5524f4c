import { kindOf } from "./errors.js";
import type { ConnectionConfig, JitterStrategy } from "./types.js";

/** The jitter strategies {@link computeBackoffDelay} understands. */
export const JITTER_STRATEGIES: readonly JitterStrategy[] = Object.freeze([
  "additive",
  "full",
  "decorrelated",
]);

/**
 * The defaults of every {@link ConnectionConfig} key. Frozen: copy it to change it.
 */
export const DEFAULT_CONFIG: Readonly<ConnectionConfig> = Object.freeze({
  maxReconnectAttempts: 20,
  baseDelay: 1000,
  maxDelay: 30000,
  backoffMultiplier: 2,
  jitterRange: 1000,
  jitterStrategy: "full",
  connectionTimeout: 15000,
  heartbeatInterval: 25000,
  heartbeatTimeout: 5000,
  minHeartbeatTimeout: 1000,
  healthCheckInterval: 30000,
  unhealthyThreshold: 3,
  maxQueueSize: 100,
  queueTtl: 30000,
  requestTimeout: 10000,
  stablePeriod: 5000,
  sleepThreshold: 15000,
  reconnectOnServerDisconnect: false,
  awaitSessionRecovery: false,
  callHeartbeatInterval: 5000,
  callMaxDelay: 5000,
  failoverAfter: 2,
  failbackInterval: 30000,
  sharedSessions: false,
} satisfies ConnectionConfig);

/**
 * The longest delay a timer can take: `setTimeout` treats anything above 2^31 − 1 ms (about
 * 24.8 days) as 1 ms, which would turn a long wait into a hot loop.
 */
export const MAX_TIMER_MS = 2_147_483_647;

type Rule = "positive" | "nonNegative" | "positiveInteger" | "nonNegativeInteger" | "atLeastOne" | "delay" | "nonNegativeDelay";

/** The keys whose value is a boolean. */
type BooleanKey = "reconnectOnServerDisconnect" | "awaitSessionRecovery" | "sharedSessions";

const BOOLEAN_KEYS: readonly string[] = ["reconnectOnServerDisconnect", "awaitSessionRecovery", "sharedSessions"] satisfies BooleanKey[];

const NUMERIC_RULES: Record<Exclude<keyof ConnectionConfig, "jitterStrategy" | BooleanKey>, Rule> = {
  maxReconnectAttempts: "positiveInteger",
  baseDelay: "delay",
  maxDelay: "delay",
  backoffMultiplier: "atLeastOne",
  jitterRange: "nonNegativeDelay",
  connectionTimeout: "delay",
  heartbeatInterval: "delay",
  heartbeatTimeout: "delay",
  minHeartbeatTimeout: "delay",
  healthCheckInterval: "delay",
  unhealthyThreshold: "positiveInteger",
  maxQueueSize: "nonNegativeInteger",
  queueTtl: "delay",
  requestTimeout: "delay",
  stablePeriod: "nonNegativeDelay",
  sleepThreshold: "delay",
  callHeartbeatInterval: "delay",
  callMaxDelay: "delay",
  failoverAfter: "positiveInteger",
  failbackInterval: "delay",
};

const RULE_TEXT: Record<Rule, string> = {
  positive: "a finite number greater than 0",
  nonNegative: "a finite number of at least 0",
  positiveInteger: "an integer of at least 1",
  nonNegativeInteger: "an integer of at least 0",
  atLeastOne: "a finite number of at least 1",
  delay: `a number of ms greater than 0 and at most ${MAX_TIMER_MS} (the timer limit, about 24.8 days)`,
  nonNegativeDelay: `a number of ms of at least 0 and at most ${MAX_TIMER_MS} (the timer limit, about 24.8 days)`,
};

function satisfies(rule: Rule, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  switch (rule) {
    case "positive":
      return value > 0;
    case "nonNegative":
      return value >= 0;
    case "positiveInteger":
      return Number.isInteger(value) && value >= 1;
    case "nonNegativeInteger":
      return Number.isInteger(value) && value >= 0;
    case "atLeastOne":
      return value >= 1;
    case "delay":
      return value > 0 && value <= MAX_TIMER_MS;
    case "nonNegativeDelay":
      return value >= 0 && value <= MAX_TIMER_MS;
  }
}

/** Renders a rejected value so that the message shows exactly what was passed. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Option names whose values are never printed in an error: they may hold a secret. */
const SECRET_NAME = /token|secret|pass|pwd|auth|credential|jwt|bearer|session|cookie|key|sig/i;

/** Strings at least this long are described, not shown, under an unknown name: they may be tokens. */
const LONG_SECRET_LIKE = 32;

/**
 * The value of an option that is not known, for an error message. An unknown key is often a
 * misplaced secret (`config: { authToken }`, `options.token`): under a secret-looking name,
 * and for long strings or objects (a JWT, `{ token }`), only its kind is given.
 */
export function describeUnknownValue(key: string, value: unknown): string {
  const secretLike =
    SECRET_NAME.test(key) ||
    (typeof value === "string" && value.length >= LONG_SECRET_LIKE) ||
    (value !== null && typeof value === "object");
  return secretLike ? `${kindOf(value)}, not shown` : describeValue(value);
}

/**
 * Merges `overrides` over {@link DEFAULT_CONFIG} and checks every key.
 *
 * @throws TypeError naming the key and the value for an unknown key or a bad value.
 */
export function resolveConfig(overrides: Partial<ConnectionConfig> | undefined = {}): ConnectionConfig {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new TypeError(`config must be an object, got ${describeValue(overrides)}`);
  }
  for (const key of Object.keys(overrides)) {
    if (!Object.hasOwn(DEFAULT_CONFIG, key)) {
      throw new TypeError(
        `config.${key} is not a known option (value ${describeUnknownValue(key, (overrides as Record<string, unknown>)[key])}); known options: ${Object.keys(DEFAULT_CONFIG).join(", ")}`,
      );
    }
  }
  const config = { ...DEFAULT_CONFIG };
  for (const [key, value] of Object.entries(overrides) as [keyof ConnectionConfig, unknown][]) {
    if (value === undefined) continue;
    if (key === "jitterStrategy") {
      if (!JITTER_STRATEGIES.includes(value as JitterStrategy)) {
        throw new TypeError(
          `config.jitterStrategy must be one of ${JITTER_STRATEGIES.map((s) => `"${s}"`).join(", ")}, got ${describeValue(value)}`,
        );
      }
      config.jitterStrategy = value as JitterStrategy;
      continue;
    }
    if (BOOLEAN_KEYS.includes(key)) {
      if (typeof value !== "boolean") {
        throw new TypeError(`config.${key} must be a boolean, got ${describeValue(value)}`);
      }
      config[key as BooleanKey] = value;
      continue;
    }
    const rule = NUMERIC_RULES[key as keyof typeof NUMERIC_RULES];
    if (typeof value !== "number" || !satisfies(rule, value)) {
      throw new TypeError(`config.${key} must be ${RULE_TEXT[rule]}, got ${describeValue(value)}`);
    }
    (config as Record<string, unknown>)[key] = value;
  }
  if (config.maxDelay < config.baseDelay) {
    throw new TypeError(
      `config.maxDelay (${config.maxDelay}) must be at least config.baseDelay (${config.baseDelay})`,
    );
  }
  // The floor is a derived default: a short heartbeatTimeout alone (a valid contract key) lowers it.
  if (overrides.minHeartbeatTimeout === undefined) {
    config.minHeartbeatTimeout = Math.min(config.minHeartbeatTimeout, config.heartbeatTimeout);
  }
  if (config.minHeartbeatTimeout > config.heartbeatTimeout) {
    throw new TypeError(
      `config.minHeartbeatTimeout (${config.minHeartbeatTimeout}) must be at most config.heartbeatTimeout (${config.heartbeatTimeout})`,
    );
  }
  return config;
}
