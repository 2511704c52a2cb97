/**
 * The server's Prometheus metrics: one registry per app, so two apps in one process (tests, or an
 * app embedded next to another) never share series.
 *
 * @module
 */
import { Gauge, Registry } from 'prom-client';

/** The app's metrics: the registry `/metrics` serves and the series the server updates. */
export interface ServerMetrics {
  readonly registry: Registry;
  /** `sluice_active_streams`: generations (runs) producing events on this instance now. */
  readonly activeStreams: Gauge;
  /** `sluice_open_connections`: streaming responses (followers) open on this instance now. */
  readonly openConnections: Gauge;
}

/**
 * Creates a registry with the server's series. More series are added here, next to these.
 * @returns the metrics of one app
 */
export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  const activeStreams = new Gauge({ name: 'sluice_active_streams', help: 'Generations running on this instance now.', registers: [registry] });
  const openConnections = new Gauge({ name: 'sluice_open_connections', help: 'Streaming responses open on this instance now.', registers: [registry] });
  return { registry, activeStreams, openConnections };
}
